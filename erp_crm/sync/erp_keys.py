"""Whether the ERP's own catalog guarantees an entity's key unique.

Keys must be unique and may not be: a pass that reads lines through their documents
asks the ERP which keys repeat (`EntitySync._probe_shared_keys`, a GROUP BY over the
whole table), and a first load keeps the overlay's unique key while it loads, to refuse
a key met twice. Where the ERP itself refuses a second row of a key, neither is needed:
a unique index on the key column alone, with no condition (a partial index leaves rows
out) and no expression. Only a plain table and a one-column key are judged, and only on
PostgreSQL, whose catalog every role may read; anything else is "not known", which
costs time, never a wrong row.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa

from erp_crm.errors import SourceError
from erp_crm.sync.definition import EntitySpec
from erp_crm.sync.source import ErpSource

log = logging.getLogger(__name__)

_UNIQUE_INDEXES = """
SELECT count(*) FROM pg_index i
WHERE i.indrelid = to_regclass(:relation) AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indnatts = 1
  AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = i.indkey[0] AND a.attname = :key)
"""


def key_is_unique(erp: ErpSource, spec: EntitySpec) -> bool:
    """Whether the ERP refuses two rows of `spec`'s table with the same key (see the module's docstring)."""
    if erp.dialect_name != "postgresql" or spec.table is None or len(spec.key) != 1:
        return False
    schema, _, name = spec.table.rpartition(".")
    relation = erp.dialect.identifier_preparer.format_table(sa.table(name, schema=schema or None))
    try:
        found = erp.scalar(sa.text(_UNIQUE_INDEXES).bindparams(relation=relation, key=spec.key[0]))
    except SourceError as exc:
        log.debug("%s: the ERP's catalog did not say whether %s is unique (%s)", spec.table, spec.key[0], exc)
        return False
    return bool(found)

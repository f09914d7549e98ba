"""Which privileges would let a connection's role change the ERP, read from the server.

The session is read-only too (`ErpSource.connect`), but that guards only what this code
sends in that session. The role is what keeps the ERP safe from everything else: a
definition's SQL that does more than read, a bug, a borrowed password. So the check
counts every way the role could write, directly or through a role it can switch to,
and names each with its object, so the administrator knows what to revoke.

Not a write, and so not reported: SELECT, TEMP / CREATE TEMPORARY TABLES (temporary
tables are private to the session), and EXECUTE (a routine runs in the read-only
session like any statement).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

SHOWN = 8  # privileges named in a message; the rest are counted

_POSTGRESQL = r"""
WITH acting AS (  -- the user, and every role it inherits from or may SET ROLE to (a superuser: itself, that says it all)
    SELECT oid, rolname, rolsuper, rolbypassrls, rolcreaterole,
           CASE WHEN rolname = current_user THEN '' ELSE ' through role ' || quote_ident(rolname) END AS via
    FROM pg_roles
    WHERE rolname = current_user
       OR (pg_has_role(current_user, oid, 'MEMBER') AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user))
),
writer AS (SELECT * FROM acting WHERE NOT rolsuper),  -- a superuser is reported as that, not table by table
relation AS (
    SELECT c.oid, c.relkind, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
)
SELECT 1, 'superuser ' || rolname FROM acting WHERE rolsuper
UNION ALL SELECT 1, 'BYPASSRLS ' || rolname FROM writer WHERE rolbypassrls
UNION ALL SELECT 1, 'CREATEROLE ' || rolname FROM writer WHERE rolcreaterole
UNION ALL SELECT 1, 'member of ' || rolname FROM acting WHERE rolname IN ('pg_write_server_files', 'pg_execute_server_program')
UNION ALL SELECT 2, 'CREATE on database ' || quote_ident(current_database()) || via
    FROM writer WHERE has_database_privilege(oid, current_database(), 'CREATE')
UNION ALL SELECT 2, 'CREATE on schema ' || quote_ident(n.nspname) || via
    FROM writer, pg_namespace n
    WHERE n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%' AND has_schema_privilege(writer.oid, n.oid, 'CREATE')
UNION ALL SELECT 3, p || ' on ' || r.name || via
    FROM writer, relation r, unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'TRIGGER']) p
    WHERE r.relkind <> 'S' AND has_table_privilege(writer.oid, r.oid, p)
UNION ALL SELECT 3, p || ' on columns of ' || r.name || via
    FROM writer, relation r, unnest(ARRAY['INSERT', 'UPDATE']) p
    WHERE r.relkind <> 'S' AND NOT has_table_privilege(writer.oid, r.oid, p) AND has_any_column_privilege(writer.oid, r.oid, p)
UNION ALL SELECT 3, p || ' on sequence ' || r.name || via
    FROM writer, relation r, unnest(ARRAY['UPDATE', 'USAGE']) p
    WHERE r.relkind = 'S' AND has_sequence_privilege(writer.oid, r.oid, p)
ORDER BY 1, 2
"""

# Not run against a real SQL Server here (docs/operations.md says what that means).
_MSSQL = """
SELECT permission_name + ' on the database' FROM fn_my_permissions(NULL, 'DATABASE')
WHERE permission_name IN ('CONTROL', 'ALTER', 'INSERT', 'UPDATE', 'DELETE', 'EXECUTE', 'TAKE OWNERSHIP', 'CREATE TABLE',
                          'CREATE VIEW', 'CREATE PROCEDURE', 'CREATE FUNCTION', 'CREATE SCHEMA', 'ALTER ANY SCHEMA')
UNION ALL
SELECT p.permission_name + ' on '
       + CASE p.class WHEN 3 THEN 'schema ' + SCHEMA_NAME(p.major_id)
              ELSE OBJECT_SCHEMA_NAME(p.major_id) + '.' + OBJECT_NAME(p.major_id)
                   + COALESCE(' column ' + COL_NAME(p.major_id, NULLIF(p.minor_id, 0)), '') END
       + CASE WHEN p.grantee_principal_id = DATABASE_PRINCIPAL_ID() THEN '' ELSE ' through role ' + USER_NAME(p.grantee_principal_id) END
FROM sys.database_permissions p
WHERE p.state IN ('G', 'W') AND p.grantee_principal_id IN (SELECT principal_id FROM sys.user_token)
  AND ((p.class = 3 AND p.permission_name IN ('CONTROL', 'ALTER', 'INSERT', 'UPDATE', 'DELETE', 'EXECUTE', 'TAKE OWNERSHIP'))
       OR (p.class = 1 AND p.permission_name IN ('CONTROL', 'ALTER', 'INSERT', 'UPDATE', 'DELETE', 'TAKE OWNERSHIP')))
UNION ALL
SELECT 'owner of schema ' + s.name FROM sys.schemas s
WHERE s.principal_id IN (SELECT principal_id FROM sys.user_token)
  AND EXISTS (SELECT 1 FROM sys.objects o WHERE o.schema_id = s.schema_id AND o.is_ms_shipped = 0)
"""

# MariaDB privileges that change data, tables, views, routines, events or accounts, or the
# server's files and settings. Held globally (*.*), on the ERP's database, or on one of its
# tables or columns, each lets the role write.
MARIADB_WRITES = frozenset({
    "ALL PRIVILEGES", "INSERT", "UPDATE", "DELETE", "DELETE HISTORY", "CREATE", "DROP", "ALTER", "INDEX", "CREATE VIEW",
    "CREATE ROUTINE", "ALTER ROUTINE", "TRIGGER", "EVENT", "FILE", "SUPER", "CREATE USER",
})


def write_privileges(dialect: str, conn: Any) -> list[str]:
    """Every privilege of the connection's role that could change the ERP, named with its object."""
    cursor = conn.cursor()
    try:
        if dialect == "mysql":
            return list(_mariadb(cursor))
        cursor.execute(_POSTGRESQL if dialect == "postgresql" else _MSSQL)
        return [str(row[-1]) for row in cursor.fetchall() if row[-1]]
    finally:
        cursor.close()


def summary(found: list[str]) -> str | None:
    """The privileges for a one-line message: the first few, and how many more."""
    unique = list(dict.fromkeys(found))
    if not unique:
        return None
    more = len(unique) - SHOWN
    return ", ".join(unique[:SHOWN]) + (f" and {more} more" if more > 0 else "")


# -- MariaDB -----------------------------------------------------------------------------------
#
# information_schema shows a user's own grants but not those of its roles, and SHOW GRANTS
# shows a role's only while it is the active one. So each role granted to the user is set
# in turn (SET ROLE changes nothing in the database), and its grants, with those of the
# roles granted to it and to PUBLIC, are read from SHOW GRANTS.


@dataclass(frozen=True)
class Grant:
    """One SHOW GRANTS line, read by tokens so that a quoted name that looks like SQL stays a name."""

    privileges: tuple[tuple[str, bool], ...]  # (name, whether it is limited to columns)
    database: str | None  # None: every database (*.*); a pattern where the grant is database-wide
    table: str | None  # None: the whole database
    grantee: str  # 'PUBLIC', a role's name, or user@host


def _mariadb(cursor: Any) -> Iterator[str]:
    cursor.execute("SELECT DATABASE(), CURRENT_USER(), CURRENT_ROLE()")
    database, user, active = cursor.fetchone()
    cursor.execute("SELECT ROLE_NAME FROM information_schema.APPLICABLE_ROLES WHERE GRANTEE = CURRENT_USER()")
    roles = [str(row[0]) for row in cursor.fetchall()]
    lines: dict[str, None] = {}
    try:
        for role in [None, *roles]:
            cursor.execute("SET ROLE NONE" if role is None else f"SET ROLE {_quote(role)}")
            cursor.execute("SHOW GRANTS")
            lines.update(dict.fromkeys(str(row[0]) for row in cursor.fetchall()))
    finally:
        cursor.execute("SET ROLE NONE" if active is None else f"SET ROLE {_quote(str(active))}")
    for line in lines:
        grant = parse_grant(line)
        if grant is not None and _covers(grant, str(database)):
            yield from _described(grant, str(user).partition("@")[0])


def _quote(name: str) -> str:
    """A role name for SET ROLE; it comes from the server, but a backtick in it must not end the name."""
    return "`" + name.replace("`", "``") + "`"


def _covers(grant: Grant, database: str) -> bool:
    """Whether a grant reaches the ERP's database (a database-wide grant's name may have _ and % wildcards)."""
    if grant.database is None:
        return True
    if grant.table is not None:
        return grant.database == database
    return re.fullmatch(_like_pattern(grant.database), database, re.IGNORECASE | re.DOTALL) is not None


def _like_pattern(pattern: str) -> str:
    """A GRANT database name as a regular expression: `_` any character, `%` any run, `\\_` and `\\%` themselves."""
    parts = re.findall(r"\\.|[_%]|[^\\_%]+|\\", pattern)
    return "".join(re.escape(p[1:]) if p.startswith("\\") and len(p) == 2 else {"_": ".", "%": ".*"}.get(p, re.escape(p)) for p in parts)


def _described(grant: Grant, user: str) -> Iterator[str]:
    where = "*.*" if grant.database is None else f"{grant.database}.{grant.table or '*'}"
    via = "" if grant.grantee.partition("@")[0] == user else f" through {'PUBLIC' if grant.grantee == 'PUBLIC' else 'role ' + grant.grantee}"
    for name, columns in grant.privileges:
        if name in MARIADB_WRITES:
            yield f"{name}{' on columns of ' if columns else ' on '}{where}{via}"


_TOKEN = re.compile(r"`(?:[^`]|``)*`|'(?:[^'\\]|\\.)*'|\w+|\S")


def parse_grant(line: str) -> Grant | None:
    """One line of SHOW GRANTS as a `Grant`; None for lines that grant no privileges (roles, proxies, default roles)."""
    tokens = _TOKEN.findall(line)
    if not tokens or tokens[0].upper() != "GRANT":
        return None
    words = [t.upper() for t in tokens]
    depth, on = 0, None
    for i, word in enumerate(words):
        depth += (word == "(") - (word == ")")
        if depth == 0 and word in ("ON", "TO"):
            on = i if word == "ON" else None
            break
    if on is None or "TO" not in words[on:]:
        return None  # GRANT role TO user
    to = on + words[on:].index("TO")
    target = [t for t in tokens[on + 1 : to] if t.upper() not in ("TABLE", "PROCEDURE", "FUNCTION", "PACKAGE", "BODY")]
    if len(target) != 3 or target[1] != ".":
        return None  # GRANT PROXY ON user@host
    database, table = (None if t == "*" else _unquote(t) for t in (target[0], target[2]))
    return Grant(tuple(_privileges(tokens[1:on])), database, table if database is not None else None, _grantee(tokens[to + 1 :]))


def _privileges(tokens: list[str]) -> Iterator[tuple[str, bool]]:
    """`SELECT, UPDATE (`a`, `b`), DELETE HISTORY` → (SELECT, False), (UPDATE, True), (DELETE HISTORY, False)."""
    words: list[str] = []
    columns = False
    depth = 0
    for token in [*tokens, ","]:
        if token in ("(", ")"):
            depth += 1 if token == "(" else -1
            columns = True
        elif depth == 0 and token == ",":
            if words:
                yield " ".join(words).upper(), columns
            words, columns = [], False
        elif depth == 0:
            words.append(token)


def _grantee(tokens: list[str]) -> str:
    if tokens and tokens[0].upper() == "PUBLIC":
        return "PUBLIC"
    name = _unquote(tokens[0]) if tokens else ""
    return f"{name}@{_unquote(tokens[2])}" if len(tokens) > 2 and tokens[1] == "@" else name


def _unquote(token: str) -> str:
    if token[:1] in ("`", "'") and token[-1:] == token[:1]:
        return token[1:-1].replace(token[0] * 2, token[0])
    return token

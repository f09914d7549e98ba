"""What a sync of a Dolibarr database must bring: rows per canonical entity.

Counted straight from Dolibarr's tables by Dolibarr's own rules, independently of the
connector definition, so that comparing these numbers with the overlay proves the
definition (its filters, joins and keys), not merely that the engine agrees with itself:

* one company (``entity``), and users of that company or of all companies (entity 0);
* invoices and credit notes once validated (``fk_statut > 0``), lines of those only;
* one payment row per invoice a payment settles (``llx_paiement_facture``).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

_COUNTS = {
    "user": "SELECT COUNT(*) FROM llx_user WHERE entity IN (0, :entity)",
    "partner": "SELECT COUNT(*) FROM llx_societe WHERE entity = :entity",
    "contact": "SELECT COUNT(*) FROM llx_socpeople WHERE entity = :entity",
    "product": "SELECT COUNT(*) FROM llx_product WHERE entity = :entity",
    "quote": "SELECT COUNT(*) FROM llx_propal WHERE entity = :entity",
    "quote_line": "SELECT COUNT(*) FROM llx_propaldet d JOIN llx_propal h ON h.rowid = d.fk_propal"
    " WHERE h.entity = :entity",
    "order": "SELECT COUNT(*) FROM llx_commande WHERE entity = :entity",
    "order_line": "SELECT COUNT(*) FROM llx_commandedet d JOIN llx_commande h ON h.rowid = d.fk_commande"
    " WHERE h.entity = :entity",
    "invoice": "SELECT COUNT(*) FROM llx_facture WHERE entity = :entity AND fk_statut > 0",
    "invoice_line": "SELECT COUNT(*) FROM llx_facturedet d JOIN llx_facture h ON h.rowid = d.fk_facture"
    " WHERE h.entity = :entity AND h.fk_statut > 0",
    "payment": "SELECT COUNT(*) FROM llx_paiement_facture pf JOIN llx_paiement p ON p.rowid = pf.fk_paiement"
    " WHERE p.entity = :entity",
    "ticket": "SELECT COUNT(*) FROM llx_ticket WHERE entity = :entity",
}


def dolibarr_entity_counts(conn: Connection, entity: int = 1) -> dict[str, int]:
    """Rows per canonical entity that `connectors/dolibarr.yaml` must bring from `conn`."""
    return {name: int(conn.execute(text(sql), {"entity": entity}).scalar_one()) for name, sql in _COUNTS.items()}

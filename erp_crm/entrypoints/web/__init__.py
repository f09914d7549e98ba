"""`erp-crm serve`: the web side (today the unsubscribe pages; the panels and the API will join them)."""

"""Work that several `erp-crm worker` processes share on a PostgreSQL overlay, claimed with row locks."""

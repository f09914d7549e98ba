"""The sync: ERP rows into the overlay, in batches, resumably (docs/architecture.md)."""

"""Per-partner figures and models derived from the ERP's history."""

"""The overlay schema: synced copies of ERP rows plus the CRM's own tables."""

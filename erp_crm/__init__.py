"""erp-crm: a CRM add-on that lives beside an ERP and reads its history read-only."""

__version__ = "0.1.0"

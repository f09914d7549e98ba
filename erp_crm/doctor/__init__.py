"""`erp-crm doctor`: each check of a running install, a finding with a fix hint."""

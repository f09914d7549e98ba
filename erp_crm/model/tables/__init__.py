"""The overlay's tables, one module per area. Importing this package registers every table on `metadata`,
which migrations and schema comparisons need whole.
"""

from erp_crm.model.tables import chains, consent, feed, jobs, metrics, outbox, owners, profile, segments, sync, synced
from erp_crm.model.tables.base import metadata

__all__ = ["chains", "consent", "feed", "jobs", "metadata", "metrics", "outbox", "owners", "profile", "segments", "sync", "synced"]

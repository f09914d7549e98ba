"""Settings: `config/erp_crm.yaml` in a home folder, one validated section per area.

Each area's section is defined once, in its own module here, and the services take the
section they use (`ErpSettings` for the sync, `MetricsSection` for the metrics), never
the whole `Settings`: what a service may depend on is then visible in its signature.
"""

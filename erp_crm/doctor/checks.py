"""The checks `erp-crm doctor` runs, in the order it shows their findings.

An area adds its check here, one line each (all run at once, each in its own thread;
erp_crm/doctor/examine.py). The settings are read before any of them, by
erp_crm/doctor/config.py, since every check needs them.
"""

from __future__ import annotations

from erp_crm.doctor import clock, disk, erp, gateways, mail, overlay, scheduler
from erp_crm.doctor.findings import Check

CHECKS: tuple[Check, ...] = (
    overlay.CHECK,
    erp.CHECK,
    mail.CHECK,
    gateways.SMS_CHECK,
    gateways.WEBHOOKS_CHECK,
    disk.CHECK,
    clock.CHECK,
    scheduler.CHECK,
)

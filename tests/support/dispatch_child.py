"""A dispatcher in a process of its own, for tests that kill it: `python -m tests.support.dispatch_child OVERLAY_URL SMTP_PORT`.

It says `dispatching` on stdout once everything is imported and the overlay is open,
so a test can kill it while it works rather than while Python starts.
"""

from __future__ import annotations

import sys

import sqlalchemy as sa

from erp_crm.settings.sending import OutboxSection
from erp_crm.store.overlay import Overlay
from tests.support.outbox import send_all


def main(url: str, port: int) -> None:
    with Overlay.open(sa.engine.make_url(url)) as overlay:
        print("dispatching", flush=True)
        report = send_all(overlay, port, OutboxSection(batch=5))
    print(f"done {report.sent} sent, {report.unknown} unknown, {report.recovered} recovered", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))

"""Consent over real HTTP: `erp-crm serve`'s app on loopback (uvicorn), links from real chain messages, the next steps stopped."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from erp_crm.automation.chain_store import enrol
from erp_crm.automation.consent import Unsubscribe, UnsubscribeLinks, record, unsubscribe_token
from erp_crm.automation.tick import publish_all, tick
from erp_crm.entrypoints.web.app import create_app
from erp_crm.model.tables.consent import consent, suppression
from erp_crm.model.tables.outbox import outbox
from erp_crm.segments.compiler import select_partners
from erp_crm.settings.sending import ConsentSection, QuietHours
from erp_crm.store.overlay import Overlay
from tests.support.chain_overlay import T0, chain_overlay, make_home, runtime, table_rows
from tests.support.outbox import send_all
from tests.support.smtp import LoopbackSmtp

SECRET = "x" * 40
PUBLIC = "http://crm.pelda.test"
DAY = dt.timedelta(days=1)
TWICE = "trigger: manual\nsteps:\n  - email: winback_offer\n  - wait: 1d\n  - email: winback_offer\n  - sms: winback_reminder\n"


@contextmanager
def served(overlay: Overlay) -> Iterator[str]:
    """The app on a free loopback port; its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(overlay, SECRET), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def linked_runtime(home: Path, **consent: object) -> object:
    return replace(runtime(home), links=UnsubscribeLinks(PUBLIC, SECRET), consent=ConsentSection(**consent))  # type: ignore[arg-type]


def test_one_click_unsubscribe_stops_the_next_step_of_every_chain_on_that_channel(overlay_url: str, tmp_path: Path) -> None:
    home = make_home(tmp_path, {"first": TWICE, "second": TWICE})
    rt = linked_runtime(home)
    with chain_overlay(overlay_url) as overlay, served(overlay) as base, LoopbackSmtp() as smtp:
        with overlay.begin_writing() as conn:
            for published in publish_all(conn, rt, T0, ["first", "second"]):  # type: ignore[arg-type]
                enrol(conn, published, [1], "manual:a", T0)
        tick(overlay, rt, now=T0)  # type: ignore[arg-type]
        send_all(overlay, smtp.port, clock=lambda: T0)
        header = smtp.received[0].message["List-Unsubscribe"]
        link = header.strip("<>").split(">")[0]
        assert link.startswith(f"{PUBLIC}/u/") and len(smtp.received) == 2
        path = link.removeprefix(PUBLIC)
        looked = httpx.get(base + path)
        before = table_rows(overlay, consent, "status")
        clicked = httpx.post(base + path, content="List-Unsubscribe=One-Click", headers={"Content-Type": "application/x-www-form-urlencoded"})
        again = httpx.post(base + path, content="List-Unsubscribe=One-Click")
        tick(overlay, rt, now=T0 + 2 * DAY)  # type: ignore[arg-type]
        send_all(overlay, smtp.port, clock=lambda: T0 + 2 * DAY)
        rows = table_rows(overlay, outbox, "key", "channel", "status", "reason")
        proof = table_rows(overlay, consent, "partner_id", "channel", "status", "source", "detail")
        with overlay.connect() as conn:
            partners = set(conn.execute(select_partners("unsubscribed(email) and not consent(email)", rt.registry, T0.date())).scalars())  # type: ignore[attr-defined]
    assert looked.status_code == 200 and "Leiratkozom" in looked.text and before == [], "opening the link changes nothing"
    assert looked.headers["content-security-policy"].startswith("default-src 'none'")
    assert clicked.status_code == 200 and "Unsubscribed" in clicked.text and again.status_code == 200
    assert proof == [(1, "email", "opt_out", "one-click", f"the link in message {rows[0][0]}")], "recorded once, with its source and message"
    second_emails = [r for r in rows if r[1] == "email"][2:]
    assert [r[2] for r in second_emails] == ["suppressed", "suppressed"], "both chains' next e-mail stopped"
    assert all("unsubscribed from email" in r[3] for r in second_emails)
    assert [r[2] for r in rows if r[1] == "sms"] == ["queued", "queued"], "the text messages are another channel"
    assert len(smtp.received) == 2 and partners == {1}


def test_an_opt_out_while_a_message_waits_in_the_queue_stops_it_at_dispatch(overlay_url: str, tmp_path: Path) -> None:
    home = make_home(tmp_path, {"first": TWICE})
    rt = linked_runtime(home)
    with chain_overlay(overlay_url) as overlay, LoopbackSmtp(refuse={"office@sample.co.uk"}) as smtp:
        with overlay.begin_writing() as conn:
            (published,) = publish_all(conn, rt, T0, ["first"])  # type: ignore[arg-type]
            enrol(conn, published, [1, 3], "manual:a", T0)
        tick(overlay, rt, now=T0)  # type: ignore[arg-type]
        with overlay.begin() as conn:
            record(conn, 1, "email", "opt_out", "phone", "asked on the phone", T0)
        report = send_all(overlay, smtp.port, clock=lambda: T0)
        tick(overlay, rt, now=T0 + 2 * DAY)  # type: ignore[arg-type]
        bounced = table_rows(overlay, outbox, "partner_id", "channel", "status", "reason")
        suppressed = table_rows(overlay, suppression, "channel", "address", "source")
    assert report.suppressed == 1 and report.failed == 1 and smtp.received == []
    assert suppressed == [("email", "office@sample.co.uk", "bounce")], "550 5.1.1 is a hard bounce: the address is struck out"
    later = [r for r in bounced if r[0] == 3 and r[1] == "email"]
    assert later[-1][2] == "suppressed" and "the address is suppressed: 550 5.1.1" in later[-1][3]


def test_required_opt_in_weekly_cap_and_quiet_hours(overlay_url: str, tmp_path: Path) -> None:
    home = make_home(tmp_path, {"first": TWICE, "second": TWICE})
    quiet = QuietHours(start=20, end=8, channels=("sms",))
    rt = linked_runtime(home, require_opt_in=("email",), max_per_week=2, quiet_hours=quiet)
    evening = dt.datetime(2026, 3, 2, 20, 30)  # 21:30 in Budapest
    with chain_overlay(overlay_url) as overlay:
        with overlay.begin_writing() as conn:
            record(conn, 1, "email", "opt_in", "form", "newsletter box ticked", evening - DAY)
            for published in publish_all(conn, rt, evening, ["first", "second"]):  # type: ignore[arg-type]
                enrol(conn, published, [1, 5], "manual:a", evening)
        tick(overlay, rt, now=evening)  # type: ignore[arg-type]
        tick(overlay, rt, now=evening + DAY)  # type: ignore[arg-type]
        rows = table_rows(overlay, outbox, "partner_id", "channel", "status", "reason", "due_at")
    email = [(p, s, r) for p, c, s, r, _ in rows if c == "email"]
    assert [s for p, s, _ in email if p == 5] == ["suppressed"] * 4 and all("no opt-in for email" in r for p, _, r in email if p == 5)
    assert [s for p, s, _ in email if p == 1] == ["queued", "queued", "suppressed", "suppressed"]
    assert "2 email messages in the last seven days (consent.max_per_week: 2)" in [r for p, s, r in email if p == 1][2]
    sms_due = {due for p, c, s, r, due in rows if c == "sms" and s == "queued"}
    assert sms_due == {dt.datetime(2026, 3, 4, 7, 0)}, "an SMS decided at 21:30 waits for 08:00 Budapest time"


@pytest.mark.parametrize(
    "token", ["nonsense", "x" * 600, "../../etc/passwd", "%00", unsubscribe_token("another secret is not ours...", Unsubscribe(1, "email", "k"))]
)
def test_a_link_that_is_not_ours_changes_nothing(pg_url: str, token: str) -> None:
    with chain_overlay(pg_url) as overlay, served(overlay) as base:
        got = httpx.get(f"{base}/u/{token}")
        posted = httpx.post(f"{base}/u/{token}", content="List-Unsubscribe=One-Click")
        huge = httpx.post(f"{base}/u/{unsubscribe_token(SECRET, Unsubscribe(1, 'email', 'k'))}", content=b"x" * 100_000)
        unknown_partner = httpx.post(f"{base}/u/{unsubscribe_token(SECRET, Unsubscribe(999, 'email', 'k'))}")
        with overlay.connect() as conn:
            recorded = conn.execute(sa.select(sa.func.count()).select_from(consent)).scalar()
    assert got.status_code in (404, 405) and posted.status_code in (404, 405) and huge.status_code == 413 and unknown_partner.status_code == 404
    assert recorded == 0

"""`erp-crm outbox` as an operator uses it: dispatch to a loopback SMTP server, see, settle, pause; mistakes in one line."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa

from erp_crm.model.tables.outbox import outbox
from tests.support.cli import erp_crm
from tests.support.homes import make_home
from tests.support.outbox import SENDER, email, outbox_overlay, put
from tests.support.smtp import LoopbackSmtp


def home_with(tmp_path: Path, port: int | None, **email_keys: object) -> tuple[Path, str]:
    url = f"sqlite:///{tmp_path / 'overlay.sqlite'}"
    extra = {"email": {"sender": SENDER, "smtp": {"host": "127.0.0.1", "port": port, "security": "none"}, **email_keys}} if port else {}
    return make_home(tmp_path, overlay_url=url, extra=extra), url


def test_dispatch_list_review_settle_pause_and_resume(tmp_path: Path) -> None:
    with LoopbackSmtp(drop_after_data=True) as smtp:
        home, url = home_with(tmp_path, smtp.port)
        with outbox_overlay(url) as overlay:
            put(overlay, email("k1", "a@vevo.hu"), email("k2", "rossz cím"))
        dropped = erp_crm("--home", home, "outbox", "dispatch")
        review = erp_crm("--home", home, "outbox", "review")
        settled = erp_crm("--home", home, "outbox", "settle", "1", "--as", "resend", "--note", "not in the relay's log")
        paused = erp_crm("--home", home, "outbox", "pause", "--reason", "rossz ár a levélben")
        smtp.keeper.drop_after_data = False
        held = erp_crm("--home", home, "outbox", "dispatch", "--json")
        listed = erp_crm("--home", home, "outbox", "list")
        erp_crm("--home", home, "outbox", "resume")
        sent = erp_crm("--home", home, "outbox", "dispatch")
        as_json = erp_crm("--home", home, "outbox", "list", "--status", "sent", "--json")
    assert dropped.returncode == 0 and "1 unknown" in dropped.stdout and "outbox review" in dropped.stdout, dropped
    assert "#1 unknown" in review.stdout and "a@vevo.hu" in review.stdout and "outbox settle" in review.stdout
    assert settled.stdout.strip() == "settled 1 messages as resend"
    assert paused.returncode == 0 and json.loads(held.stdout)["paused"].endswith("rossz ár a levélben")
    assert "sending is PAUSED" in listed.stdout and "1 queued" in listed.stdout and "1 suppressed" in listed.stdout
    assert "1 sent" in sent.stdout and len(smtp.received) == 2
    shown = json.loads(as_json.stdout)
    assert shown["counts"] == {"email": {"sent": 1, "suppressed": 1}} and [m["recipient"] for m in shown["messages"]] == ["a@vevo.hu"]
    assert shown["messages"][0]["settled"].endswith("UTC: settled as resend: not in the relay's log")


def test_mistakes_are_one_line_and_change_nothing(tmp_path: Path) -> None:
    home, url = home_with(tmp_path, 1)  # nothing listens on port 1
    with outbox_overlay(url) as overlay:
        put(overlay, email("k1", "a@vevo.hu"))
    unreachable = erp_crm("--home", home, "outbox", "dispatch")
    no_such = erp_crm("--home", home, "outbox", "settle", "1", "7", "--as", "sent")
    not_a_number = erp_crm("--home", home, "outbox", "settle", "x1", "--as", "sent")
    bad_sender = erp_crm("--home", home_with(tmp_path, 25, sender="nem cím")[0], "outbox", "dispatch")
    bad_port = erp_crm("--home", make_home(tmp_path, overlay_url=url, extra={"email": {"smtp": {"port": "huszonöt"}}}), "outbox", "list")
    assert unreachable.returncode == 3 and "cannot reach the email server: 127.0.0.1:1:" in unreachable.stdout
    for done, words in ((no_such, "no outbox message 7; nothing was changed"), (not_a_number, "'x1' is not a whole number of message ids"),
                        (bad_sender, "email.sender: not an e-mail address"), (bad_port, "email.smtp.port")):  # fmt: skip
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and words in lines[0] and "Traceback" not in done.stderr, done
    with outbox_overlay(url) as overlay, overlay.connect() as conn:
        assert conn.execute(sa.select(outbox.c.status, outbox.c.claimed_by)).all() == [("queued", None)]


def test_messages_of_a_channel_that_is_not_set_up_are_reported_waiting(tmp_path: Path) -> None:
    home, url = home_with(tmp_path, None)
    with outbox_overlay(url) as overlay:
        put(overlay, email("k1", "a@vevo.hu"))
    done = erp_crm("--home", home, "outbox", "dispatch")
    assert done.returncode == 0 and "E-mail is not set up: 1 messages wait; see docs/sending.md" in done.stdout

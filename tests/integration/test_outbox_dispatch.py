"""The outbox against a real SMTP server on loopback: each message sent at most once, and every end visible."""

from __future__ import annotations

import datetime as dt
import socket
import threading

import pytest
import sqlalchemy as sa

from erp_crm.automation.dispatch import recover
from erp_crm.automation.outbox import Enqueued, resolve, set_paused, utc_now
from erp_crm.errors import UserError
from erp_crm.model.tables.outbox import communication, outbox
from erp_crm.settings.sending import OutboxSection
from tests.support.outbox import email, outbox_overlay, put, send_all, states
from tests.support.smtp import LoopbackSmtp


def message_ids(smtp: LoopbackSmtp) -> list[str]:
    return [r.message["Message-ID"] for r in smtp.received]


def test_queued_messages_are_sent_once_logged_and_the_same_key_adds_nothing(overlay_url: str) -> None:
    with outbox_overlay(overlay_url) as overlay, LoopbackSmtp() as smtp:
        first = put(overlay, email("k1", " Kovacs.Peter@Példa.HU "), email("k2", "b@vevo.hu"), email("k3", "nem-cim@"))
        again = put(overlay, email("k1", "other@vevo.hu"))
        report = send_all(overlay, smtp.port)
        repeat = send_all(overlay, smtp.port)
        with overlay.connect() as conn:
            logged = conn.execute(sa.select(communication.c.channel, communication.c.direction, communication.c.subject).order_by(communication.c.id)).all()
            suppressed = conn.execute(sa.select(outbox.c.reason).where(outbox.c.key == "k3")).scalar_one()
        with overlay.begin() as conn, pytest.raises(UserError, match=f"only unknown messages can be settled, and {first[0].id} is sent; nothing was changed"):
            resolve(conn, [first[0].id], "resend", "", utc_now(), 3600)
    assert [e.status for e in first] == ["queued", "queued", "suppressed"] and "There must be something after the @-sign" in suppressed
    assert again[0] == Enqueued(first[0].id, "queued", False), "deciding the same message twice finds the first row"
    assert (report.sent, repeat.sent) == (2, 0)
    assert [r.recipients for r in smtp.received] == [["Kovacs.Peter@xn--plda-bpa.hu"], ["b@vevo.hu"]]
    assert smtp.received[0].message["Subject"] == "Rég nem láttuk!" and "Példa Kft." in str(smtp.received[0].message["From"])
    assert len(set(message_ids(smtp))) == 2
    assert logged == [("email", "out", "Rég nem láttuk!")] * 2


def test_refused_deferred_and_throttled_answers(overlay_url: str) -> None:
    slept: list[float] = []
    section = OutboxSection(max_attempts=2, retry_after=60, throttle_pause=0.5, throttle_pause_at_most=10)
    answers = {"lassan@vevo.hu": "451 4.7.1 slow down", "tele@vevo.hu": "452 4.2.2 mailbox full"}
    with outbox_overlay(overlay_url) as overlay, LoopbackSmtp(refuse={"nincs@vevo.hu"}, answers=answers) as smtp:
        put(overlay, email("refused", "nincs@vevo.hu"), email("slow", "lassan@vevo.hu"), email("full", "tele@vevo.hu"), email("ok", "a@vevo.hu"))
        report = send_all(overlay, smtp.port, section, sleep=slept.append)
        with overlay.connect() as conn:
            rows = {r.key: r for r in conn.execute(sa.select(outbox)).all()}
        later = send_all(overlay, smtp.port, section, sleep=slept.append, clock=lambda: utc_now() + dt.timedelta(minutes=5))
    assert (report.sent, report.failed, report.deferred, report.throttled) == (1, 1, 2, 2)
    assert slept[:2] == [0.5, 1.0], "the pause doubles while the server keeps asking"
    assert (rows["refused"].status, rows["refused"].answer_code, rows["refused"].answer) == ("failed", 550, "5.1.1 no such mailbox")
    assert rows["slow"].status == "queued" and rows["slow"].due_at >= rows["slow"].created_at + dt.timedelta(seconds=60)
    assert (later.failed, later.sent) == (2, 0), "a message deferred max_attempts times fails"
    assert states(overlay) == {"refused": "failed", "slow": "failed", "full": "failed", "ok": "sent"}
    assert [r.recipients for r in smtp.received] == [["a@vevo.hu"]]


def test_a_server_that_keeps_throttling_stops_the_run_and_leaves_the_rest_queued(overlay_url: str) -> None:
    section = OutboxSection(throttle_pause=0.01, throttle_pause_at_most=0.02)
    with outbox_overlay(overlay_url) as overlay, LoopbackSmtp(answers={f"x{i}@vevo.hu": "421 4.7.0 too many" for i in range(5)}) as smtp:
        put(overlay, *(email(f"k{i}", f"x{i}@vevo.hu") for i in range(5)))
        report = send_all(overlay, smtp.port, section, sleep=lambda s: None)
        with overlay.connect() as conn:
            claimed = conn.execute(sa.select(sa.func.count()).where(outbox.c.claimed_by.is_not(None))).scalar()
    assert report.stopped and "kept asking to slow down" in report.stopped
    assert (report.deferred, report.released, claimed) == (3, 2, 0)
    assert set(states(overlay).values()) == {"queued"} and smtp.received == []


def test_a_drop_after_the_content_is_unknown_never_resent_until_a_person_settles_it(overlay_url: str) -> None:
    with outbox_overlay(overlay_url) as overlay, LoopbackSmtp(drop_after_data=True) as smtp:
        put(overlay, email("k1", "a@vevo.hu"), email("k2", "b@vevo.hu"))
        report = send_all(overlay, smtp.port)
        again = send_all(overlay, smtp.port)
        received_before = len(smtp.received)
        with overlay.begin() as conn, pytest.raises(UserError, match="no outbox message 999999; nothing was changed"):
            resolve(conn, [1, 2, 999_999], "resend", "", utc_now(), 3600)
        with overlay.begin() as conn:
            ids = conn.execute(sa.select(outbox.c.id).order_by(outbox.c.id)).scalars().all()
            resolve(conn, ids, "resend", "not in the server's log", utc_now(), 3600)
        smtp.keeper.drop_after_data = False
        resent = send_all(overlay, smtp.port)
    assert (report.unknown, again.unknown, again.sent) == (2, 0, 0), "the session is opened again for the second message, which the server also drops"
    assert received_before == 2
    assert resent.sent == 2 and len(smtp.received) == 4
    assert message_ids(smtp)[:2] == message_ids(smtp)[2:], "a resend carries the same Message-ID, so a receiver can tell"


def test_a_row_left_sending_by_a_dead_dispatcher_becomes_unknown(overlay_url: str) -> None:
    with outbox_overlay(overlay_url) as overlay:
        put(overlay, email("left", "a@vevo.hu"), email("reserved", "b@vevo.hu"))
        with overlay.begin() as conn:
            conn.execute(sa.update(outbox).where(outbox.c.key == "left").values(status="sending", claimed_by="dead"))
            conn.execute(sa.update(outbox).where(outbox.c.key == "reserved").values(claimed_by="dead"))
        assert recover(overlay, "me") == (1, 1)
        with overlay.connect() as conn:
            rows = {r.key: r for r in conn.execute(sa.select(outbox)).all()}
    assert rows["left"].status == "unknown" and "may have been delivered" in rows["left"].reason
    assert rows["reserved"].status == "queued" and rows["reserved"].claimed_by is None


def test_expired_paused_and_unreachable(overlay_url: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with outbox_overlay(overlay_url) as overlay, LoopbackSmtp() as smtp:
        put(overlay, email("old", "a@vevo.hu"), now=utc_now() - dt.timedelta(days=3), expire_after=86400)
        put(overlay, email("new", "b@vevo.hu"))
        with overlay.begin() as conn:
            set_paused(conn, True, "wrong price in the template", utc_now())
        paused = send_all(overlay, smtp.port)
        with overlay.begin() as conn:
            set_paused(conn, False, "", utc_now())
        unreachable = send_all(overlay, closed_port)
        after = states(overlay)
        report = send_all(overlay, smtp.port)
    assert paused.paused and "wrong price in the template" in paused.paused and paused.sent == 0
    assert paused.expired == 1, "a message past its expiry is dropped even while sending is paused"
    assert unreachable.error and f"127.0.0.1:{closed_port}" in unreachable.error
    assert unreachable.released == 1
    assert after["new"] == "queued", "a server that cannot be reached leaves the message queued: nothing was sent"
    assert (report.expired, report.sent) == (0, 1) and states(overlay) == {"old": "expired", "new": "sent"}
    assert [r.recipients for r in smtp.received] == [["b@vevo.hu"]]


def test_two_dispatchers_at_once_on_postgresql_never_send_the_same_message(pg_url: str) -> None:
    with outbox_overlay(pg_url) as overlay, LoopbackSmtp() as smtp:
        put(overlay, *(email(f"k{i}", f"v{i}@vevo.hu") for i in range(300)))
        reports = []
        section = OutboxSection(batch=7)
        threads = [threading.Thread(target=lambda: reports.append(send_all(overlay, smtp.port, section))) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    ids = message_ids(smtp)
    assert len(ids) == len(set(ids)) == 300
    assert sum(r.sent for r in reports) == 300 and all(r.sent > 0 for r in reports), "the three shared the queue"
    assert set(states(overlay).values()) == {"sent"}


def test_a_second_dispatcher_on_sqlite_is_refused(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/overlay.sqlite"
    with outbox_overlay(url) as overlay, LoopbackSmtp() as smtp:
        put(overlay, email("k1", "a@vevo.hu"))
        with overlay.lock("outbox-dispatch", "busy"), pytest.raises(UserError, match="another outbox dispatch is running"):
            send_all(overlay, smtp.port)
    assert smtp.received == []

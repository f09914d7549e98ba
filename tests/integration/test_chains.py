"""Chains over a real overlay (SQLite and PostgreSQL): the win-back journey, versions, triggers, re-entry, failures, races."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from erp_crm.automation.chain_store import enrol, segment_members
from erp_crm.automation.tick import publish_all
from erp_crm.model.tables.chains import enrolment, step_log, task
from erp_crm.model.tables.outbox import outbox
from erp_crm.model.tables.segments import segment, segment_member
from erp_crm.model.tables.synced import SYNCED
from tests.support.chain_overlay import T0, buy, chain_overlay, enter, journey, make_home, run, runtime, table_rows, ticks_at_once

DAY = dt.timedelta(days=1)


def enrol_segment(overlay: object, home: Path, name: str, segment_name: str, at: dt.datetime) -> dict[str, int]:
    with overlay.begin_writing() as conn:  # type: ignore[attr-defined]
        (published,) = publish_all(conn, runtime(home), at, [name])
        done = enrol(conn, published, segment_members(conn, segment_name), f"manual:{at:%Y-%m-%d}", at)
    return {"enrolled": done.enrolled, **done.skipped}


def test_the_win_back_journey(overlay_url: str, tmp_path: Path) -> None:
    home = make_home(tmp_path)
    with chain_overlay(overlay_url) as overlay:
        assert enrol_segment(overlay, home, "winback", "lapsed", T0) == {"enrolled": 5}
        first = run(overlay, home, T0)
        buy(overlay, 1, (T0 + 5 * DAY).date())
        run(overlay, home, T0 + 14 * DAY)
        buy(overlay, 5, (T0 + 16 * DAY).date())
        run(overlay, home, T0 + 17 * DAY)
        run(overlay, home, T0 + 22 * DAY)
        messages = table_rows(overlay, outbox, "partner_id", "channel", "recipient", "status", "subject")
        tasks = table_rows(overlay, task, "partner_id", "owner_id", "role", "priority", "title", "note", "due_on")
        ended = dict(table_rows(overlay, enrolment, "partner_id", "status"))
        steps = journey(overlay)
    assert first.steps[("winback", "offer", "queued")] == 4 and first.steps[("winback", "offer", "suppressed")] == 1
    assert [m for m in messages if m[1] == "email"] == [
        (1, "email", "info@pelda.hu", "queued", "Rég nem láttuk, Példa Kft.!"),
        (2, "email", "marta@minta.hu", "queued", "Rég nem láttuk, Minta Bt.!"),  # no address of its own: its contact's
        (3, "email", "office@sample.co.uk", "queued", "We have missed you, Sample Ltd.!"),  # English-speaking partner, English template
        (4, "email", "rossz cím", "suppressed", "Rég nem láttuk, Teszt Zrt.!"),  # kept as rendered, with why it was not sent
        (5, "email", "arviz@turo.hu", "queued", "Rég nem láttuk, Árvíztűrő Kft.!"),
    ]
    sms = [(m[0], m[2], m[3]) for m in messages if m[1] == "sms"]
    assert sms == [(2, "+36207654321", "queued"), (3, "", "suppressed"), (4, "1234", "suppressed"), (5, "+36705551234", "queued")], "partner 1 bought: no SMS"
    assert ended == {1: "goal", 2: "done", 3: "done", 4: "done", 5: "goal"}
    assert steps[1] == [("offer", "queued"), ("step-2", "waiting"), ("end", "goal")]
    assert steps[5][-2:] == [("give_it_a_week", "waiting"), ("end", "goal")], "a purchase while waiting ends the chain"
    assert steps[2][-3:] == [("give_it_a_week", "else"), ("call", "task"), ("end", "done")]
    due = (T0 + 25 * DAY).date()
    assert tasks == [
        (
            2,
            None,
            "sales",
            "high",
            "Hívd fel: Minta Bt. (visszacsábítás)",
            "Két hete levelet, egy hete SMS-t kapott, azóta sem vásárolt.\nszabo is not an active user: given to the sales role",
            due,
        ),
        (
            3,
            None,
            "sales",
            "high",
            "Hívd fel: Sample Ltd. (visszacsábítás)",
            "Két hete levelet, egy hete SMS-t kapott, azóta sem vásárolt.\nthe partner has no salesperson: given to the sales role",
            due,
        ),
        (4, 3, None, "high", "Hívd fel: Teszt Zrt. (visszacsábítás)", "Két hete levelet, egy hete SMS-t kapott, azóta sem vásárolt.", due),
    ]


def test_running_enrolments_stay_on_their_version(overlay_url: str, tmp_path: Path) -> None:
    chain = "trigger: manual\nsteps:\n  - email: winback_offer\n  - wait: {days}\n  - sms: winback_reminder\n"
    home = make_home(tmp_path, {"short": chain.format(days="14d")})
    with chain_overlay(overlay_url) as overlay:
        with overlay.begin_writing() as conn:
            (v1,) = publish_all(conn, runtime(home), T0, ["short"])
            enrol(conn, v1, [1], "manual:a", T0)
        run(overlay, home, T0)
        (home / "jobs" / "chains" / "short.yaml").write_text(chain.format(days="3d"), encoding="utf-8")
        with overlay.begin_writing() as conn:
            (v2,) = publish_all(conn, runtime(home), T0, ["short"])
            again = publish_all(conn, runtime(home), T0, ["short"])[0]
            enrol(conn, v2, [3], "manual:a", T0)
        run(overlay, home, T0)
        later = run(overlay, home, T0 + 4 * DAY)
        versions = dict(table_rows(overlay, enrolment, "partner_id", "version_id"))
    assert (v1.version, v2.version, v2.new, again.version, again.new) == (1, 2, True, 2, False)
    assert versions == {1: v1.version_id, 3: v2.version_id}
    assert later.moved == 1 and later.steps[("short", "step-3", "suppressed")] == 1, "only the v2 enrolment (3 days) was due; partner 3 has no mobile"


def test_a_segment_trigger_enrols_once_per_entry_and_only_while_a_member(overlay_url: str, tmp_path: Path) -> None:
    home = make_home(tmp_path, {"vip_welcome": "trigger: {entered: vip}\nre_entry: 1d\nsteps:\n  - email: winback_offer\n"})
    with chain_overlay(overlay_url) as overlay:
        before = run(overlay, home, T0)  # first publication: earlier events do not count
        enter(overlay, "vip", 1, T0 + DAY)
        enter(overlay, "vip", 3, T0 + DAY)
        with overlay.begin() as conn:  # partner 3 left again before the tick saw it
            conn.execute(sa.update(segment_member).where(segment_member.c.partner_id == 3, segment_member.c.segment_id == 3).values(left_at=T0 + DAY))
        seen = run(overlay, home, T0 + 2 * DAY)
        again = run(overlay, home, T0 + 3 * DAY)
    assert before.enrolled.enrolled == 0 and "vip_welcome v1" in before.published
    assert seen.enrolled.enrolled == 1 and seen.enrolled.skipped["no longer in the segment"] == 1
    assert again.enrolled.enrolled == 0 and again.moved == 0


def test_one_enrolment_per_occurrence_and_re_entry_rules(overlay_url: str, tmp_path: Path) -> None:
    home = make_home(tmp_path, {"once": "trigger: manual\nsteps:\n  - email: winback_offer\n"})
    with chain_overlay(overlay_url) as overlay:
        first = enrol_segment(overlay, home, "once", "vip", T0)
        same_day = enrol_segment(overlay, home, "once", "vip", T0)
        run(overlay, home, T0)
        after_end = enrol_segment(overlay, home, "once", "vip", T0 + DAY)
        suppressed = enrol_segment(overlay, home, "winback", "vip", T0)
    assert first == {"enrolled": 1}
    assert same_day == {"enrolled": 0, "in the chain already": 1}
    assert after_end == {"enrolled": 0, "was in the chain before (re_entry: never)": 1}
    assert suppressed == {"enrolled": 1}


def test_a_step_that_fails_for_one_partner_fails_that_enrolment_alone(overlay_url: str, tmp_path: Path) -> None:
    home = make_home(tmp_path, {"fragile": "trigger: manual\nsteps:\n  - email: fragile\n"})
    (home / "templates" / "messages" / "hu" / "fragile.yaml").write_text(
        "email:\n  subject: Szia\n  text: \"{% if partner.lang == 'hu' %}{{ partner.name | huf }}{% endif %}ok\"\n", encoding="utf-8"
    )
    with chain_overlay(overlay_url) as overlay:
        enrol_segment(overlay, home, "fragile", "lapsed", T0)
        report = run(overlay, home, T0)
        ended = dict(table_rows(overlay, enrolment, "partner_id", "status"))
        queued = [r[0] for r in table_rows(overlay, outbox, "partner_id")]
    assert ended == {1: "done", 2: "failed", 3: "done", 4: "done", 5: "failed"}, "partners 2 and 5 have lang 'hu': their name is not an amount"
    assert queued == [1, 3, 4] and report.ended == {"done": 3, "failed": 2}
    assert len(report.failures) == 2 and "fragile.yaml:3: email.text" in report.failures[0]
    assert "'Minta Bt.' is not a number, and number, huf and money format numbers" in report.failures[0]


def test_ticks_racing_on_postgresql_move_each_enrolment_once(pg_url: str, tmp_path: Path) -> None:
    home = make_home(tmp_path, {"race": "trigger: manual\nsteps:\n  - email: winback_offer\n  - wait: 1d\n  - email: winback_offer\n"})
    with chain_overlay(pg_url) as overlay:
        partner = SYNCED["partner"]
        with overlay.begin() as conn:
            conn.execute(
                sa.insert(partner),
                [
                    {"id": i, "source": "erp", "erp_key": f"R{i}", "row_hash": "x", "synced_at": T0, "name": f"Vevő {i}", "email": f"v{i}@vevo.hu"}
                    for i in range(100, 400)
                ],
            )
            lapsed = conn.execute(sa.select(segment.c.id).where(segment.c.name == "lapsed")).scalar_one()
            conn.execute(sa.insert(segment_member), [{"segment_id": lapsed, "partner_id": i, "entered_at": T0} for i in range(100, 400)])
        enrol_segment(overlay, home, "race", "lapsed", T0)
        reports = ticks_at_once(overlay, runtime(home, batch=7), T0 + 2 * DAY, 3)
        with overlay.connect() as conn:
            per_partner = conn.execute(sa.select(outbox.c.partner_id, sa.func.count()).group_by(outbox.c.partner_id)).all()
            logs = conn.execute(sa.select(sa.func.count()).select_from(step_log)).scalar()
    assert sum(r.moved for r in reports) == 305 and all(r.moved for r in reports), "the three shared the due enrolments"
    assert {n for _, n in per_partner} == {1} and len(per_partner) == 305
    assert logs == 305 * 2


@pytest.mark.parametrize(
    ("now", "wait", "expected"),
    [
        (dt.datetime(2026, 3, 27, 12, 0), {"weekday": "monday", "hour": 9}, dt.datetime(2026, 3, 30, 7, 0)),  # after the spring change: UTC+2
        (dt.datetime(2026, 3, 27, 12, 0), {"weekday": "friday", "hour": 9}, dt.datetime(2026, 4, 3, 7, 0)),  # today's 9:00 has passed
        (dt.datetime(2026, 10, 24, 12, 0), {"weekday": None, "hour": 9}, dt.datetime(2026, 10, 25, 8, 0)),  # after the autumn change: UTC+1
        (dt.datetime(2026, 3, 28, 23, 30), {"weekday": None, "hour": 2}, dt.datetime(2026, 3, 29, 1, 0)),  # 02:00 does not exist that night: 03:00 local
    ],
)
def test_waiting_until_a_weekday_and_hour_in_the_company_s_time_zone(tmp_path: Path, now: dt.datetime, wait: dict[str, object], expected: dt.datetime) -> None:
    from erp_crm.automation.tick import Runner, TickReport

    runner = Runner(runtime(make_home(tmp_path)), now, TickReport())
    assert runner.next_hour(wait["weekday"], wait["hour"]) == expected  # type: ignore[arg-type]


def test_tasks_made_by_chains_can_be_postponed_handed_over_and_done(overlay_url: str, tmp_path: Path) -> None:
    from erp_crm.automation.tasks import finish, hand_over, postpone
    from erp_crm.errors import UserError
    from erp_crm.queries.tasks import task_history, tasks

    home = make_home(tmp_path, {"call": "trigger: manual\nsteps:\n  - task: {title: 'Hívd: {{ partner.name }}', due: 2d}\n"})
    with chain_overlay(overlay_url) as overlay:
        enrol_segment(overlay, home, "call", "vip", T0)
        run(overlay, home, T0)
        with overlay.begin() as conn:
            (task_id,) = conn.execute(sa.select(task.c.id)).scalars().all()
            for action, words in (
                (lambda: postpone(conn, task_id, T0.date() - DAY, "x", "kovacs", T0.date(), T0), "is in the past"),
                (lambda: postpone(conn, task_id, T0.date() + DAY, " ", "kovacs", T0.date(), T0), "needs a reason"),
                (lambda: hand_over(conn, task_id, "szabo", "", "kovacs", T0), "szabo is not an active ERP user"),
                (lambda: hand_over(conn, task_id, "senki", "", "kovacs", T0), "no ERP user with the login 'senki'"),
            ):
                with pytest.raises(UserError, match=words):
                    action()
            postpone(conn, task_id, T0.date() + 5 * DAY, "szabadságon van", "kovacs", T0.date(), T0)
            hand_over(conn, task_id, "nagy", "ő ismeri", "kovacs", T0)
            finish(conn, task_id, "nagy", "felhívtam", T0)
            with pytest.raises(UserError, match="is done; nothing was changed"):
                finish(conn, task_id, "nagy", "", T0)
            history = [(h["kind"], h["before"], h["after"], h["reason"]) for h in task_history(conn, task_id)]
            mine = tasks(conn, login="nagy", status=None)
    assert history == [
        ("created", None, f"due {T0.date() + 2 * DAY}", None),
        ("postponed", str(T0.date() + 2 * DAY), str(T0.date() + 5 * DAY), "szabadságon van"),
        ("handed_over", "kovacs", "nagy", "ő ismeri"),
        ("done", "open", "done", "felhívtam"),
    ]
    assert [(t["title"], t["status"], t["partner"]) for t in mine] == [("Hívd: Árvíztűrő Kft.", "done", "Árvíztűrő Kft.")]


def test_an_e_mail_is_built_when_decided_and_sent_byte_for_byte(overlay_url: str, tmp_path: Path) -> None:
    from dataclasses import replace

    from erp_crm.automation.email_builder import EmailBuilder
    from erp_crm.automation.tick import tick
    from tests.support.outbox import email_settings, send_all
    from tests.support.smtp import LoopbackSmtp

    home = make_home(tmp_path, {"once": "trigger: manual\nsteps:\n  - email: winback_offer\n"})
    with chain_overlay(overlay_url) as overlay, LoopbackSmtp() as smtp:
        rt = replace(runtime(home), email=EmailBuilder.of(email_settings(smtp.port)))
        enrol_segment(overlay, home, "once", "vip", T0)
        tick(overlay, rt, now=T0)
        (stored,) = [r[0] for r in table_rows(overlay, outbox, "mime")]
        send_all(overlay, smtp.port, clock=lambda: T0)
    assert stored is not None and stored.isascii() and "\r\nSubject: =?utf-8?" in stored
    (received,) = smtp.received
    assert received.data.replace(b"\r\n", b"\n").rstrip() == stored.encode().replace(b"\r\n", b"\n").rstrip()

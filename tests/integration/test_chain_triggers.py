"""Chains triggered by ERP records and dates, over a real overlay (SQLite and PostgreSQL).

Rows are written as the sync leaves them; each test runs `chains tick` at chosen
moments and reads the enrolments, outbox rows and step log back: each record enrols
once, across ticks and versions; a tick after days without one catches up; a new chain
does not enrol old records; hostile ERP values (NULL dates, far-future dates) enrol no
one and break nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from erp_crm.automation.dry_run import dry_run
from erp_crm.automation.message_templates import load_message
from erp_crm.automation.trigger_records import TRIGGER_FIELDS, empty_trigger, trigger_context
from erp_crm.model.tables.chains import chain, enrolment, task
from erp_crm.model.tables.metrics import partner_metrics
from erp_crm.model.tables.outbox import outbox
from erp_crm.model.tables.segments import segment_event
from erp_crm.model.tables.synced import SYNCED
from erp_crm.store.overlay import Overlay
from tests.support.chain_overlay import T0, chain_overlay, enter, make_home, row, run, runtime, ticks_at_once
from tests.support.metrics_rows import metrics_row

DAY = dt.timedelta(days=1)
TODAY = T0.date()  # 2 March 2026, also in Budapest at 10:00
WAIT = "steps:\n  - wait: 30d\n"
BIRTHDAY_TEMPLATE = """email:
  subject: "Boldog születésnapot, {{ contact.name }}!"
  text: "Kedves {{ contact.first_name or contact.name }}, boldog születésnapot!"
"""


def add(overlay: Overlay, entity: str, *rows: dict[str, Any]) -> None:
    """Rows of a synced entity, each with its id as its ERP key (columns one row names and another does not are NULL in that one)."""
    table = SYNCED[entity]
    named = {key for r in rows for key in r}
    with overlay.begin() as conn:
        conn.execute(sa.insert(table), [row(table, f"{entity}-{r['id']}", **(dict.fromkeys(named) | r)) for r in rows])


def invoice(id: int, partner: int, due: dt.date | None, status: str = "posted", **more: Any) -> dict[str, Any]:
    day = more.pop("date") if "date" in more else (due or TODAY) - 8 * DAY
    return {
        "id": id,
        "partner_id": partner,
        "number": f"SZ-{id}",
        "date": day,
        "due_date": due,
        "status": status,
        "kind": "invoice",
        **more,
    }


def enrolled(overlay: Overlay, name: str | None = None) -> list[tuple[int, str]]:
    """(partner, occurrence) of every enrolment (of chain `name`), in the order made."""
    query = sa.select(enrolment.c.partner_id, enrolment.c.occurrence).order_by(enrolment.c.id)
    if name:
        query = query.join(chain, chain.c.id == enrolment.c.chain_id).where(chain.c.name == name)
    with overlay.connect() as conn:
        return [tuple(r) for r in conn.execute(query)]  # type: ignore[misc]


def set_status(overlay: Overlay, entity: str, id: int, **values: Any) -> None:
    table = SYNCED[entity]
    with overlay.begin() as conn:
        conn.execute(sa.update(table).where(table.c.id == id).values(**values))


def test_an_overdue_invoice_enrols_once_ever_and_old_ones_never(overlay_url: str, tmp_path: Path) -> None:
    home = make_home(tmp_path, {"overdue": "trigger: {event: invoice_overdue, days: 8}\n" + WAIT})
    due_today = TODAY - 8 * DAY
    with chain_overlay(overlay_url) as overlay:
        add(
            overlay,
            "invoice",
            invoice(101, 1, due_today),
            invoice(102, 1, due_today, status="paid"),
            invoice(103, 1, due_today - 2 * DAY),  # overdue by 8 on Saturday: within the look-back of a new chain
            invoice(104, 1, dt.date(2025, 6, 1)),  # a year overdue: before the chain existed
            invoice(105, 1, due_today + 2 * DAY),  # overdue by 8 on Wednesday
            invoice(106, 1, due_today, kind="credit_note"),
            invoice(107, 1, due_today, erp_deleted_at=T0),
            invoice(108, 1, None),  # no due date
            invoice(109, 1, dt.date(2999, 12, 31)),
            invoice(110, 2, due_today),
            invoice(111, 3, due_today, status="cancelled"),
            invoice(112, 3, due_today, status="draft"),
            invoice(113, 3, due_today - 6 * DAY),  # overdue by 8 on 24 February: beyond the look-back
        )
        first = run(overlay, home, T0)
        again = run(overlay, home, T0 + dt.timedelta(minutes=1))
        assert enrolled(overlay) == [(1, "invoice:101"), (1, "invoice:103"), (2, "invoice:110")]
        assert (first.enrolled.enrolled, again.enrolled.enrolled) == (3, 0)
        run(overlay, home, T0 + 2 * DAY)
        assert enrolled(overlay)[3:] == [(1, "invoice:105")], "two invoices of one partner: two enrolments"
        (home / "jobs" / "chains" / "overdue.yaml").write_text("title: Lejárt számla\ntrigger: {event: invoice_overdue, days: 8}\n" + WAIT, encoding="utf-8")
        changed = run(overlay, home, T0 + 2 * DAY + dt.timedelta(hours=1))
        assert changed.published == ["overdue v2"] and changed.enrolled.enrolled == 0, "a new version does not enrol the same invoices again"
        assert len(enrolled(overlay)) == 4


def test_a_tick_after_days_without_one_catches_up_in_the_company_zone(overlay_url: str, tmp_path: Path) -> None:
    home = make_home(tmp_path, {"overdue": "trigger: {event: invoice_overdue, days: 8}\n" + WAIT})
    with chain_overlay(overlay_url) as overlay:
        run(overlay, home, T0)  # published today, nothing due yet
        add(overlay, "invoice", *(invoice(200 + n, 1 + n % 5, TODAY - 8 * DAY + n * DAY) for n in range(1, 6)))
        run(overlay, home, T0 + 4 * DAY)  # no tick for four days: the overdue days of 3, 4, 5 and 6 March
        assert [o for _, o in enrolled(overlay)] == ["invoice:201", "invoice:202", "invoice:203", "invoice:204"]
        # 23:30 UTC on 6 March is already 7 March in Budapest: the invoice due 27 February is overdue by 8 there
        run(overlay, home, dt.datetime(2026, 3, 6, 23, 30))
        assert [o for _, o in enrolled(overlay)][4:] == ["invoice:205"]


def test_a_quote_not_ordered_and_a_complaint_closed(overlay_url: str, tmp_path: Path) -> None:
    chains = {
        "quote": "trigger: {event: quote_not_ordered, days: 10}\n" + WAIT,
        "complaint": "trigger: {event: complaint_closed}\n" + WAIT,
        "later": "trigger: {event: complaint_closed, days: 3}\n" + WAIT,
    }
    home = make_home(tmp_path, chains)
    sent = TODAY - 10 * DAY
    with chain_overlay(overlay_url) as overlay:
        add(
            overlay,
            "quote",
            *(
                {"id": id, "partner_id": partner, "number": f"AJ-{id}", "date": day, "status": status}
                for id, partner, day, status in [
                    (1, 1, sent, "sent"),
                    (2, 2, sent, "sent"),  # ordered
                    (3, 3, sent, "sent"),  # its only order was cancelled
                    (4, 4, sent, "accepted"),
                    (5, 5, sent, "draft"),
                    (6, 5, sent, None),  # no status in the ERP: sent
                    (7, 5, sent + DAY, "sent"),  # ten days old tomorrow
                ]
            ),
        )
        add(
            overlay,
            "order",
            {"id": 1, "partner_id": 2, "date": TODAY, "status": "confirmed", "quote_id": 2},
            {"id": 2, "partner_id": 3, "date": TODAY, "status": "cancelled", "quote_id": 3},
        )
        closed = T0 - dt.timedelta(hours=2)
        add(
            overlay,
            "ticket",
            *(
                {"id": id, "partner_id": partner, "subject": f"Panasz {id}", "category": category, "status": status, "closed_at": at}
                for id, partner, category, status, at in [
                    (1, 1, "complaint", "closed", closed),
                    (2, 2, "question", "closed", closed),
                    (3, 3, "complaint", "open", closed),  # reopened
                    (4, 4, "complaint", "closed", None),
                    (5, 5, "complaint", "closed", T0 - 3 * DAY),
                    (6, 5, "complaint", "closed", dt.datetime(2999, 1, 1)),
                ]
            ),
        )
        run(overlay, home, T0)
        assert enrolled(overlay, "quote") == [(1, "quote:1"), (3, "quote:3"), (5, "quote:6")]
        assert enrolled(overlay, "complaint") == [(1, "ticket:1"), (5, "ticket:5")]  # closed on Friday: within the look-back
        assert enrolled(overlay, "later") == [(5, "ticket:5")]
        run(overlay, home, T0 + DAY)
        assert enrolled(overlay, "quote")[3:] == [(5, "quote:7")]
        assert enrolled(overlay, "later") == [(5, "ticket:5")]


def test_first_purchase_once_per_partner_and_every_purchase(overlay_url: str, tmp_path: Path) -> None:
    home = make_home(tmp_path, {"welcome": "trigger: {event: first_purchase}\n" + WAIT, "thanks": "trigger: {event: purchase}\n" + WAIT})
    with chain_overlay(overlay_url) as overlay:
        bought = [
            (1, 1, dt.date(2025, 5, 1), "paid", "invoice"),  # an old customer
            (2, 1, TODAY, "posted", "invoice"),
            (3, 3, TODAY, "posted", "invoice"),  # a new customer, two invoices on the first day
            (4, 3, TODAY, "paid", "invoice"),
            (5, 4, TODAY, "draft", "invoice"),
            (6, 5, TODAY, "posted", "credit_note"),
        ]
        add(overlay, "invoice", *({"id": i, "partner_id": p, "date": d, "status": s, "kind": k, "number": f"SZ-{i}"} for i, p, d, s, k in bought))
        run(overlay, home, T0)
        run(overlay, home, T0 + dt.timedelta(hours=1))
        assert enrolled(overlay, "welcome") == [(3, "first_purchase:invoice:3")]
        assert enrolled(overlay, "thanks") == [(1, "purchase:invoice:2"), (3, "purchase:invoice:3"), (3, "purchase:invoice:4")]
        set_status(overlay, "invoice", 3, erp_deleted_at=T0 + DAY)  # the first one is deleted: the second is first now, but the partner had its welcome
        add(overlay, "invoice", {"id": 7, "partner_id": 5, "date": TODAY + DAY, "status": "posted", "kind": "invoice"})
        run(overlay, home, T0 + DAY)
        assert enrolled(overlay, "welcome") == [(3, "first_purchase:invoice:3"), (5, "first_purchase:invoice:7")]


def test_birthdays_go_to_the_contact_and_29_february_is_kept_on_28(overlay_url: str, tmp_path: Path) -> None:
    home = make_home(tmp_path, {"birthday": "trigger: {date: birthday}\nsteps:\n  - email: birthday_test\n"})
    for lang in ("hu", "en"):
        (home / "templates" / "messages" / lang / "birthday_test.yaml").write_text(BIRTHDAY_TEMPLATE, encoding="utf-8")
    with chain_overlay(overlay_url) as overlay:
        people = [
            (2, 1, "Kiss Péter", "peter@pelda.hu", dt.date(1980, 3, 2), True),
            (3, 3, "John Smith", None, dt.date(1990, 3, 2), True),  # no address of his own: the partner's is not used
            (4, 5, "Szökő Nap", "szoko@turo.hu", dt.date(2000, 2, 29), True),
            (5, 5, "Nincs Dátum", "nincs@turo.hu", None, True),
            (6, 5, "Jövő Béla", "jovo@turo.hu", dt.date(2030, 3, 2), True),
            (7, 5, "Régi Kolléga", "regi@turo.hu", dt.date(1970, 3, 2), False),
            (8, 4, "Ősi Ős", "osi@teszt.hu", dt.date(1, 3, 2), True),
        ]
        add(overlay, "contact", *({"id": i, "partner_id": p, "name": n, "email": e, "birth_date": b, "active": a} for i, p, n, e, b, a in people))
        run(overlay, home, T0)
        run(overlay, home, T0 + dt.timedelta(hours=3))
        assert enrolled(overlay) == [(1, "birthday:2:2026"), (3, "birthday:3:2026")]
        with overlay.connect() as conn:
            sent = conn.execute(
                sa.select(outbox.c.partner_id, outbox.c.recipient, outbox.c.status, outbox.c.subject, outbox.c.reason).order_by(outbox.c.id)
            ).all()
        assert [tuple(r)[:4] for r in sent] == [
            (1, "peter@pelda.hu", "queued", "Boldog születésnapot, Kiss Péter!"),  # not info@pelda.hu, the company's
            (3, "", "suppressed", "Boldog születésnapot, John Smith!"),
        ]
        assert sent[1].reason
        run(overlay, home, dt.datetime(2027, 2, 28, 8))  # 2027 has no 29 February
        assert enrolled(overlay)[2:] == [(5, "birthday:4:2027")]


def test_first_purchase_anniversaries(overlay_url: str, tmp_path: Path) -> None:
    home = make_home(tmp_path, {"anniversary": "trigger: {date: first_purchase_anniversary}\n" + WAIT})
    with chain_overlay(overlay_url) as overlay:
        with overlay.begin() as conn:
            firsts = {1: dt.date(2024, 3, 2), 2: TODAY, 3: None, 4: dt.date(2020, 2, 29), 5: dt.date(2025, 3, 3)}
            conn.execute(sa.insert(partner_metrics), [metrics_row(p, TODAY, first_purchase=f) for p, f in firsts.items()])
        run(overlay, home, T0)
        assert enrolled(overlay) == [(1, "anniversary:2026")]
        run(overlay, home, T0 + DAY)
        assert enrolled(overlay)[1:] == [(5, "anniversary:2026")]
        run(overlay, home, T0 + 2 * DAY)
        assert len(enrolled(overlay)) == 2


FIELDS_TEMPLATE = """email:
  subject: "Lejárt számla: {{ trigger.number }}"
  text: "{{ trigger.kind }}|{{ trigger.number }}|{{ trigger.date }}|{{ trigger.status }}|{{ trigger.currency }}|{{ trigger.amount_total | huf }}|{{ trigger.due_date | day }}|{{ trigger.days_overdue }}|{% for p in trigger.products %}{{ p }};{% endfor %}|{{ trigger.subject }}|{{ trigger.valid_until }}|{{ trigger.years }}"
  html: "<p>{% for p in trigger.products %}<b>{{ p }}</b>{% endfor %}</p>"
"""


def test_a_message_and_a_task_know_the_invoice_that_started_them(overlay_url: str, tmp_path: Path) -> None:
    chain_text = (
        "trigger: {event: invoice_overdue, days: 8}\nsteps:\n  - email: fields_test\n"
        "  - task:\n      title: 'Fizetési felszólítás: {{ trigger.number }} ({{ trigger.days_overdue }} napja lejárt)'\n      owner: 'role: finance'\n"
    )
    home = make_home(tmp_path, {"overdue": chain_text})
    for lang in ("hu", "en"):
        (home / "templates" / "messages" / lang / "fields_test.yaml").write_text(FIELDS_TEMPLATE, encoding="utf-8")
    with chain_overlay(overlay_url) as overlay:
        add(overlay, "product", {"id": 1, "name": "Csavar <M8>"})
        add(overlay, "invoice", invoice(101, 1, TODAY - 8 * DAY, currency="HUF", amount_total=127000))
        lines = [(1, 1, None), (2, None, "Szállítás"), (3, None, None)] + [(n, 1, None) for n in range(4, 16)]
        add(overlay, "invoice_line", *({"id": i, "invoice_id": 101, "product_id": p, "description": d} for i, p, d in lines))
        report = run(overlay, home, T0)
        with overlay.connect() as conn:
            message = conn.execute(sa.select(outbox.c.subject, outbox.c.body, outbox.c.html)).one()
            task_title = conn.execute(sa.select(task.c.title)).scalar_one()
    assert report.failures == []
    assert message.subject == "Lejárt számla: SZ-101"
    products = "Csavar <M8>;Szállítás;" + "Csavar <M8>;" * 8
    assert message.body.replace("\xa0", " ") == f"invoice_overdue|SZ-101|2026-02-14|posted|HUF|127 000 Ft|2026. február 22.|8|{products}|||"
    assert "<b>Csavar &lt;M8&gt;</b><b>Szállítás</b>" in message.html, "an ERP's product name arrives as text in HTML"
    assert task_title == "Fizetési felszólítás: SZ-101 (8 napja lejárt)"


def test_the_trigger_fields_of_every_kind_of_occurrence(overlay_url: str) -> None:
    with chain_overlay(overlay_url) as overlay:
        add(overlay, "quote", {"id": 1, "partner_id": 1, "number": "AJ-1", "date": TODAY, "status": "sent", "valid_until": TODAY + 30 * DAY, "amount_total": 5})
        add(overlay, "quote_line", {"id": 1, "quote_id": 1, "description": "Beépítés"})
        add(overlay, "order", {"id": 1, "partner_id": 1, "number": "R-1", "date": TODAY, "status": "confirmed"})
        add(overlay, "ticket", {"id": 1, "partner_id": 1, "number": "T-1", "subject": "Késett", "status": "closed", "opened_at": T0 - DAY, "closed_at": T0})
        add(overlay, "contact", {"id": 9, "partner_id": 1, "name": "Szökő Nap", "birth_date": dt.date(2000, 2, 29)})
        add(overlay, "invoice", invoice(5, 2, TODAY + 5 * DAY))  # partner 2's, not yet due
        with overlay.begin() as conn:
            conn.execute(sa.insert(partner_metrics).values(metrics_row(1, TODAY, first_purchase=dt.date(2020, 2, 29))))
            event = conn.execute(sa.insert(segment_event).values(segment_id=1, partner_id=1, kind="entered", at=T0).returning(segment_event.c.id)).scalar_one()
            seen = {o: trigger_context(conn, 2 if o == "invoice:5" else 1, o, TODAY) for o in [
                "quote:1", "first_purchase:order:1", "ticket:1", "birthday:9:2027", "anniversary:2027", "anniversary:2019",
                f"segment-event:{event}", "manual:2026-03-02", "invoice:5", "invoice:999", "birthday:9:99999",
            ]}  # fmt: skip
            stranger = trigger_context(conn, 1, "invoice:5", TODAY)  # partner 2's invoice, asked for partner 1
    assert all(tuple(fields) == TRIGGER_FIELDS for fields in seen.values())
    pick = {o: {k: v for k, v in fields.items() if v not in (None, [])} for o, fields in seen.items()}
    assert pick["quote:1"] == {
        "kind": "quote_not_ordered", "number": "AJ-1", "date": TODAY, "status": "sent", "amount_total": 5,
        "valid_until": TODAY + 30 * DAY, "products": ["Beépítés"],
    }  # fmt: skip
    assert pick["first_purchase:order:1"] == {"kind": "first_purchase", "number": "R-1", "date": TODAY, "status": "confirmed"}
    assert pick["ticket:1"] == {"kind": "complaint_closed", "number": "T-1", "subject": "Késett", "status": "closed", "date": TODAY - DAY, "closed_at": T0}
    assert pick["birthday:9:2027"] == {"kind": "birthday", "date": dt.date(2027, 2, 28), "years": 27}
    assert pick["anniversary:2027"] == {"kind": "first_purchase_anniversary", "first_purchase": dt.date(2020, 2, 29), "date": dt.date(2027, 2, 28), "years": 7}
    assert pick["anniversary:2019"] == {"kind": "first_purchase_anniversary", "first_purchase": dt.date(2020, 2, 29)}
    assert pick[f"segment-event:{event}"] == {"kind": "entered", "date": TODAY}
    assert pick["manual:2026-03-02"] == {"kind": "manual"}
    assert pick["invoice:5"]["days_overdue"] == 0 and pick["invoice:5"]["due_date"] == TODAY + 5 * DAY
    assert pick["invoice:999"] == {"kind": "invoice_overdue"}, "a record gone from the overlay: the fields are empty"
    assert pick["birthday:9:99999"] == {"kind": "manual"}
    assert {k: v for k, v in stranger.items() if v not in (None, [])} == {"kind": "invoice_overdue"}, "never another partner's document"


REMIND = "steps:\n  - wait: 2d\n  - if: trigger_settled\n    then: exit\n    else: again\n  - id: again\n    wait: 30d\n"
SETTLING = {
    "overdue": "trigger: {event: invoice_overdue, days: 8}\ngoal: trigger_settled\n" + WAIT,
    "quote": "trigger: {event: quote_not_ordered, days: 10}\nexit_when: trigger_settled\n" + WAIT,
    "complaint": "trigger: {event: complaint_closed}\n" + REMIND,
    "birthday": "trigger: {date: birthday}\ngoal: trigger_settled\n" + WAIT,
}


def test_a_settled_record_ends_its_enrolment(overlay_url: str, tmp_path: Path) -> None:
    """trigger_settled: an invoice paid, cancelled or deleted; a quote ordered or refused; a complaint reopened; never a birthday."""
    home = make_home(tmp_path, SETTLING)
    due = TODAY - 8 * DAY
    with chain_overlay(overlay_url) as overlay:
        add(overlay, "invoice", invoice(1, 1, due), invoice(2, 2, due), invoice(3, 3, due), invoice(4, 4, due))
        add(overlay, "quote", *({"id": i, "partner_id": i, "date": TODAY - 10 * DAY, "status": "sent"} for i in (1, 2, 3, 4)))
        add(overlay, "ticket", *({"id": i, "partner_id": i, "category": "complaint", "status": "closed", "closed_at": T0} for i in (1, 2)))
        add(overlay, "contact", {"id": 2, "partner_id": 1, "name": "Kiss Péter", "birth_date": dt.date(1980, 3, 2)})
        run(overlay, home, T0)
        assert len(enrolled(overlay)) == 4 + 4 + 2 + 1
        set_status(overlay, "invoice", 1, status="paid")
        set_status(overlay, "invoice", 2, status="cancelled")
        set_status(overlay, "invoice", 3, erp_deleted_at=T0 + DAY)
        add(
            overlay,
            "order",
            {"id": 1, "partner_id": 1, "date": TODAY, "status": "confirmed", "quote_id": 1},
            {"id": 2, "partner_id": 2, "date": TODAY, "status": "cancelled", "quote_id": 2},
        )
        set_status(overlay, "quote", 3, status="refused")
        set_status(overlay, "ticket", 1, status="open")
        run(overlay, home, T0 + 31 * DAY)
        with overlay.connect() as conn:
            query = sa.select(chain.c.name, enrolment.c.occurrence, enrolment.c.status).join(chain, chain.c.id == enrolment.c.chain_id).order_by(enrolment.c.id)
            ended = {(name, occurrence): status for name, occurrence, status in conn.execute(query)}
    assert ended == {
        ("overdue", "invoice:1"): "goal",
        ("overdue", "invoice:2"): "goal",
        ("overdue", "invoice:3"): "goal",
        ("overdue", "invoice:4"): "done",
        ("quote", "quote:1"): "exited",
        ("quote", "quote:2"): "done",  # its order was cancelled: still not ordered
        ("quote", "quote:3"): "exited",
        ("quote", "quote:4"): "done",
        ("complaint", "ticket:1"): "done",  # reopened: the if took `then: exit` after two days
        ("complaint", "ticket:2"): "active",
        ("birthday", "birthday:2:2026"): "done",
    }


def test_hostile_erp_values_are_text_and_a_ten_year_trigger_works(overlay_url: str, tmp_path: Path) -> None:
    """An ERP's number or product holding template or SQL syntax is printed as it is (escaped in HTML); days: 3650 reaches back ten years."""
    chains = {"overdue": "trigger: {event: invoice_overdue, days: 3650}\nsteps:\n  - email: fields_test\n"}
    home = make_home(tmp_path, chains)
    for lang in ("hu", "en"):
        (home / "templates" / "messages" / lang / "fields_test.yaml").write_text(FIELDS_TEMPLATE, encoding="utf-8")
    hostile = "{{ 7*7 }}'; DROP TABLE crm_invoice; --<script>"
    with chain_overlay(overlay_url) as overlay:
        add(overlay, "product", {"id": 1, "name": hostile})
        add(
            overlay,
            "invoice",
            invoice(1, 1, TODAY - 3650 * DAY, number=hostile, amount_total=Decimal("99999999999999.9999")),
            invoice(2, 1, dt.date(1, 1, 1), date=dt.date(1, 1, 1)),
        )
        add(overlay, "invoice_line", {"id": 1, "invoice_id": 1, "product_id": 1})
        report = run(overlay, home, T0)
        with overlay.connect() as conn:
            message = conn.execute(sa.select(outbox.c.subject, outbox.c.body, outbox.c.html)).one()
            invoices = conn.execute(sa.select(sa.func.count()).select_from(SYNCED["invoice"])).scalar_one()
    assert report.failures == [] and enrolled(overlay) == [(1, "invoice:1")] and invoices == 2
    assert message.subject == f"Lejárt számla: {hostile}"
    assert f"|3650|{hostile};|" in message.body
    assert "&lt;script&gt;" in message.html and "<script>" not in message.html


def test_a_dry_run_shows_whom_the_records_would_enrol_and_keeps_nothing(overlay_url: str, tmp_path: Path) -> None:
    home = make_home(tmp_path, {"overdue": "trigger: {event: invoice_overdue, days: 8}\nsteps:\n  - email: fields_test\n"})
    for lang in ("hu", "en"):
        (home / "templates" / "messages" / lang / "fields_test.yaml").write_text(FIELDS_TEMPLATE, encoding="utf-8")
    with chain_overlay(overlay_url) as overlay:
        add(overlay, "invoice", invoice(1, 1, TODAY - 8 * DAY), invoice(2, 3, TODAY - 8 * DAY))
        preview = dry_run(overlay, runtime(home), "overdue", None, now=T0)
        with overlay.connect() as conn:
            kept = conn.execute(sa.select(chain.c.days_seen)).all()
        assert enrolled(overlay) == [] and kept == []
    assert preview.enrolled == 2
    assert [p["steps"][0]["subject"] for p in preview.partners] == ["Lejárt számla: SZ-1", "Lejárt számla: SZ-2"]
    without_record = load_message(home / "templates" / "messages" / "hu" / "fields_test.yaml").render({"trigger": empty_trigger()})
    assert without_record.text == "|" * 11, "a template renders in a preview, with no record behind it"


def test_ticks_racing_on_postgresql_enrol_each_record_once(pg_url: str, tmp_path: Path) -> None:
    home = make_home(tmp_path, {"overdue": "trigger: {event: invoice_overdue, days: 8}\nsteps:\n  - email: winback_offer\n  - wait: 30d\n"})
    with chain_overlay(pg_url) as overlay:
        add(overlay, "invoice", *(invoice(i, 1 + i % 5, TODAY - 8 * DAY - (i % 4) * DAY) for i in range(1, 301)))
        reports = ticks_at_once(overlay, runtime(home, batch=7), T0, 3)
        with overlay.connect() as conn:
            keys = conn.execute(sa.select(outbox.c.key)).scalars().all()
    assert len(reports) == 3 and sum(r.enrolled.enrolled for r in reports) == 300
    assert sorted(o for _, o in enrolled(overlay)) == sorted(f"invoice:{i}" for i in range(1, 301))
    assert len(keys) == len(set(keys)) == 300


def test_a_chain_that_changes_its_kind_of_trigger_starts_afresh(overlay_url: str, tmp_path: Path) -> None:
    """From invoices to a segment: the segment's old events do not enrol; back to invoices: only today's look-back does."""
    path = tmp_path / "home" / "jobs" / "chains" / "switch.yaml"
    home = make_home(tmp_path, {"switch": "trigger: {event: invoice_overdue, days: 8}\n" + WAIT})
    with chain_overlay(overlay_url) as overlay:
        run(overlay, home, T0)
        enter(overlay, "vip", 1, T0 + DAY)  # while the chain looked at invoices
        add(overlay, "invoice", invoice(1, 2, TODAY - 6 * DAY), invoice(2, 3, TODAY + 12 * DAY))
        run(overlay, home, T0 + 2 * DAY)
        path.write_text("trigger: {entered: vip}\n" + WAIT, encoding="utf-8")
        run(overlay, home, T0 + 3 * DAY)
        enter(overlay, "vip", 4, T0 + 4 * DAY)
        run(overlay, home, T0 + 4 * DAY)
        path.write_text("trigger: {event: invoice_overdue, days: 8}\n" + WAIT, encoding="utf-8")
        run(overlay, home, T0 + 20 * DAY)  # invoice 2 fell overdue by 8 on day 20
        assert [(p, o.split(":")[0]) for p, o in enrolled(overlay)] == [(2, "invoice"), (4, "segment-event"), (3, "invoice")]

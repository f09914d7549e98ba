"""`erp-crm chains`, `tasks`, `templates` and `consent` as a back-office user runs them, on the demo's home."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.support.cli import demo_home, erp_crm


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("chains") / "home"
    demo = demo_home(folder)
    assert "win-back chain (winback v1)" in demo.stdout and "tasks for the sales reps" in demo.stdout
    assert list((folder / "var" / "demo_mail" / "new").iterdir()), "the demo mail server kept the e-mails"
    return folder


def test_validate_list_dry_run_status(home: Path) -> None:
    valid = erp_crm("--home", home, "chains", "validate")
    listed = erp_crm("--home", home, "chains", "list", "--json")
    preview = erp_crm("--home", home, "chains", "dry-run", "winback", "--segment", "lapsed", "--show", "2", "--json")
    status = erp_crm("--home", home, "chains", "status", "winback", "--json")
    assert valid.returncode == 0 and valid.stdout.startswith("ok: winback (5 steps, trigger entered lapsed)")
    (row,) = json.loads(listed.stdout)
    assert row["name"] == "winback" and row["valid"] and row["version"] == 1
    shown = json.loads(preview.stdout)
    assert shown["chain"] == "winback" and shown["skipped"].get("was in the chain before (re_entry: never)") is None
    steps = json.loads(status.stdout)["versions"][0]["steps"]
    assert list(steps) == ["offer", "step-2", "reminder", "give_it_a_week", "call", "end"], "in the chain's order, not the alphabet's"
    printed = erp_crm("--home", home, "chains", "status", "winback").stdout.splitlines()
    assert [line.split(":")[0].strip() for line in printed[1:]] == list(steps)


def test_a_broken_chain_is_one_line_naming_file_line_and_step(home: Path, tmp_path: Path) -> None:
    broken = home / "jobs" / "chains" / "broken.yaml"
    broken.write_text("trigger: manual\nsteps:\n  - email: nincs_ilyen\n", encoding="utf-8")
    try:
        done = erp_crm("--home", home, "chains", "validate")
        tick = erp_crm("--home", home, "chains", "tick")
    finally:
        broken.unlink()
    for run in (done, tick):
        lines = run.stderr.strip().splitlines()
        assert run.returncode == 2 and len(lines) == 1 and "broken.yaml:3: step step-1: no template templates/messages/hu/nincs_ilyen.yaml" in lines[0]


def test_tasks_templates_and_consent(home: Path) -> None:
    listed = json.loads(erp_crm("--home", home, "tasks", "list", "--json").stdout)
    task = listed[0]
    past = erp_crm("--home", home, "tasks", "postpone", str(task["id"]), "--to", "2020-01-01", "--reason", "x")
    moved = erp_crm("--home", home, "tasks", "postpone", str(task["id"]), "--to", "2999-01-01", "--reason", "szabadság", "--login", "teszt")
    done = erp_crm("--home", home, "tasks", "done", str(task["id"]), "--note", "felhívtam")
    history = erp_crm("--home", home, "tasks", "history", str(task["id"]))
    partner = task["partner_key"]
    preview = json.loads(erp_crm("--home", home, "templates", "preview", "winback_reminder", "--partner", partner, "--json").stdout)
    recorded = erp_crm("--home", home, "consent", "record", partner, "--channel", "email", "--opt-out", "--source", "phone", "--note", "kérte telefonon")
    shown = erp_crm("--home", home, "consent", "show", partner)
    assert past.returncode == 2 and "is in the past" in past.stderr and "nothing was changed" in past.stderr
    assert moved.returncode == 0 and done.returncode == 0
    assert [line.split(" ")[2] for line in history.stdout.splitlines()] == ["created", "postponed", "done"]
    assert preview["sms_encoding"] == "GSM-7" and preview["sms_segments"] == 1, preview
    assert recorded.returncode == 0 and "UTC email opt_out phone: kérte telefonon" in shown.stdout


READY = ("anniversary", "birthday", "interest", "invoice_overdue", "satisfaction", "welcome")


def a_partner(home: Path) -> str:
    with sqlite3.connect(home / "var" / "demo_crm.sqlite") as db:
        (key,) = db.execute("SELECT erp_key FROM crm_partner WHERE email IS NOT NULL ORDER BY id LIMIT 1").fetchone()
    return str(key)


@pytest.mark.parametrize("name", READY)
def test_each_ready_chain_adds_validates_and_dry_runs(home: Path, name: str) -> None:
    listed = erp_crm("--home", home, "chains", "list")
    assert f"ready to add (erp-crm chains add NAME): {', '.join(READY)}" in listed.stdout
    try:
        added = erp_crm("--home", home, "chains", "add", name)
        assert added.returncode == 0, added.stderr
        valid = erp_crm("--home", home, "chains", "validate", name)
        preview = erp_crm("--home", home, "chains", "dry-run", name, "--partner", a_partner(home), "--json")
        relisted = erp_crm("--home", home, "chains", "list")
    finally:
        (home / "jobs" / "chains" / f"{name}.yaml").unlink(missing_ok=True)
    assert added.stdout.startswith(f"added jobs/chains/{name}.yaml (") and valid.stdout.startswith(f"ok: {name} (")
    assert preview.returncode == 0 and json.loads(preview.stdout)["chain"] == name, preview.stderr
    assert name not in relisted.stdout.split("ready to add")[-1], "an added chain is no longer offered"


LAPSED_CALL = """\
# A home's own ready chain: the salesperson calls whoever became lapsed.
trigger: {entered: lapsed}
steps:
  - email: winback_offer
  - task: {title: "Hívd fel: {{ partner.name }}", due: 2d}
"""


def test_a_ready_chain_is_added_once_and_never_overwritten(home: Path) -> None:
    library, chain = home / "jobs" / "ready_chains" / "lapsed_call.yaml", home / "jobs" / "chains" / "lapsed_call.yaml"
    library.write_text(LAPSED_CALL, encoding="utf-8")
    try:
        offered = erp_crm("--home", home, "chains", "list")
        added = erp_crm("--home", home, "chains", "add", "lapsed_call")
        chain.write_text(LAPSED_CALL.replace("2d", "5d"), encoding="utf-8")  # the home's own edit
        again = erp_crm("--home", home, "chains", "add", "lapsed_call")
        kept = chain.read_text(encoding="utf-8")
    finally:
        library.unlink()
        chain.unlink(missing_ok=True)
    assert "lapsed_call" in offered.stdout.split("ready to add")[-1]
    assert added.returncode == 0 and added.stdout.strip() == "added jobs/chains/lapsed_call.yaml (2 steps, checked); it starts at the next tick"
    assert again.returncode == 2 and again.stderr.strip().splitlines() == [
        f"error: {chain} exists already; nothing was changed (edit it, or remove it to add the ready one again)"
    ]
    assert "due: 5d" in kept, "the home's edit is kept"


def test_an_invalid_ready_chain_is_removed_again_with_the_reason(home: Path) -> None:
    library = home / "jobs" / "ready_chains" / "broken_ready.yaml"
    library.write_text(LAPSED_CALL.replace("winback_offer", "nincs_ilyen"), encoding="utf-8")
    try:
        added = erp_crm("--home", home, "chains", "add", "broken_ready")
    finally:
        library.unlink()
    assert added.returncode == 2 and len(added.stderr.strip().splitlines()) == 1
    assert "broken_ready.yaml:4: step step-1: no template templates/messages/hu/nincs_ilyen.yaml (broken_ready was not added)" in added.stderr
    assert not (home / "jobs" / "chains" / "broken_ready.yaml").exists()


@pytest.mark.parametrize("name", ["../x", "../../config/erp_crm", "/etc/passwd", "x/../welcome", "..", "", "Welcome", "welcome.yaml", "welcome;rm -rf ~"])
def test_names_that_leave_the_library_are_refused(home: Path, name: str) -> None:
    before = sorted(p.name for p in (home / "jobs" / "chains").iterdir())
    refused = erp_crm("--home", home, "chains", "add", name)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "is not the name of a ready chain" in refused.stderr or "no ready chain named" in refused.stderr
    assert "the ready chains: anniversary, birthday" in refused.stderr
    assert sorted(p.name for p in (home / "jobs" / "chains").iterdir()) == before


OVERDUE_CHAIN = """title: Lejárt számla (overdue invoice)
trigger: {event: invoice_overdue, days: 8}
goal: trigger_settled
steps:
  - email: overdue_test
"""
OVERDUE_TEMPLATE = """email:
  subject: "{{ trigger.number }}: {{ trigger.days_overdue }} napja lejárt"
  text: "Kedves {{ partner.name }}! A(z) {{ trigger.number }} számla ({{ trigger.amount_total | huf }}) {{ trigger.due_date | day }} napon lejárt."
"""


def test_an_overdue_invoice_synced_from_the_erp_gets_its_e_mail_from_chains_tick(home: Path, tmp_path: Path) -> None:
    mine = tmp_path / "home"
    shutil.copytree(home, mine)
    today = dt.datetime.now(ZoneInfo("Europe/Budapest")).date()
    with sqlite3.connect(mine / "var" / "demo_erp.sqlite") as erp:  # the ERP books an invoice that fell due eight days ago
        columns = [row[1] for row in erp.execute("PRAGMA table_info(llx_facture)")]
        newest = dict(zip(columns, erp.execute("SELECT * FROM llx_facture WHERE type = 0 ORDER BY rowid DESC LIMIT 1").fetchone()))
        newest |= {
            "rowid": newest["rowid"] + 1000, "ref": "FA-TESZT-0042", "fk_statut": 1, "total_ttc": 127000, "paye": 0,
            "datef": str(today - dt.timedelta(days=16)), "date_lim_reglement": str(today - dt.timedelta(days=8)),
            "tms": dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S"),
        }  # fmt: skip
        erp.execute(f"INSERT INTO llx_facture ({', '.join(newest)}) VALUES ({', '.join('?' * len(newest))})", list(newest.values()))
    (mine / "jobs" / "chains" / "overdue_test.yaml").write_text(OVERDUE_CHAIN, encoding="utf-8")
    for lang in ("hu", "en"):
        (mine / "templates" / "messages" / lang / "overdue_test.yaml").write_text(OVERDUE_TEMPLATE, encoding="utf-8")
    synced = erp_crm("--home", mine, "sync")
    tick = erp_crm("--home", mine, "chains", "tick", "--json")
    again = erp_crm("--home", mine, "chains", "tick", "--json")
    listed = erp_crm("--home", mine, "outbox", "list", "--limit", "1000", "--json")
    assert synced.returncode == 0, synced.stderr
    assert tick.returncode == 0, tick.stderr
    assert json.loads(tick.stdout)["enrolled"] >= 1 and json.loads(again.stdout)["enrolled"] == 0
    ours = [m for m in json.loads(listed.stdout)["messages"] if "FA-TESZT-0042" in (m.get("subject") or "")]
    assert len(ours) == 1, listed.stdout
    assert ours[0]["subject"] == "FA-TESZT-0042: 8 napja lejárt"

"""`erp-crm chains`, `tasks`, `templates` and `consent` as a back-office user runs them, on the demo's home."""

from __future__ import annotations

import json
from pathlib import Path

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
    assert set(steps) >= {"offer", "reminder", "give_it_a_week", "call", "end"}


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

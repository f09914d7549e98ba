"""`erp-crm owners` and the reassign step as a back-office user runs them, on the demo's home."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.support.cli import demo_home, erp_crm


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("owners") / "home"
    demo_home(folder)
    return folder


def users(home: Path) -> dict[str, bool]:
    """The demo's ERP users by login, and whether each is active (read straight from the overlay)."""
    with sqlite3.connect(home / "var" / "demo_crm.sqlite") as db:
        return {login: bool(active) for login, active in db.execute("SELECT login, active FROM crm_user WHERE login != 'admin'")}


def partner_with_a_salesperson(home: Path) -> tuple[str, str]:
    with sqlite3.connect(home / "var" / "demo_crm.sqlite") as db:
        key, login = db.execute(
            "SELECT p.erp_key, u.login FROM crm_partner p JOIN crm_user u ON u.id = p.salesperson_id WHERE u.active ORDER BY p.id LIMIT 1"
        ).fetchone()
    return key, login


def owners(home: Path, *args: str) -> tuple[int, str, str]:
    done = erp_crm("--home", home, "owners", *args)
    return done.returncode, done.stdout, done.stderr


def test_set_show_history_release(home: Path) -> None:
    partner, salesperson = partner_with_a_salesperson(home)
    colleague = next(login for login, active in users(home).items() if active and login != salesperson)
    code, out, _ = owners(home, "show", "--partner", partner, "--json")
    assert code == 0 and json.loads(out)["owner"] == salesperson and json.loads(out)["from"] == "erp"
    code, out, _ = owners(home, "set", "--partner", partner, "--to", colleague, "--reason", "Nagy ügyfél: kulcsügyfél-kezelő", "--login", "teszt")
    assert code == 0 and out.strip().endswith(f"{salesperson} → {colleague}"), out
    code, out, _ = owners(home, "set", "--partner", partner, "--to", colleague, "--reason", "még egyszer")
    assert code == 0 and "nothing was changed" in out
    shown = json.loads(owners(home, "show", "--partner", partner, "--json")[1])
    assert (shown["owner"], shown["from"], shown["crm_owner"], shown["erp_salesperson"], shown["by"]) == (colleague, "crm", colleague, salesperson, "teszt")
    text = owners(home, "show", "--partner", partner)[1]
    assert f"{colleague} (set in the CRM)" in text and f"ERP salesperson: {salesperson}" in text
    code, out, _ = owners(home, "release", "--partner", partner, "--reason", "vissza az ERP-nek")
    assert code == 0 and out.strip() == f"{partner}: {colleague} → {salesperson}"
    history = json.loads(owners(home, "history", "--partner", partner, "--json")[1])
    assert [(h["kind"], h["from"], h["to"], h["by"], h["reason"]) for h in history] == [
        ("assigned", salesperson, colleague, "teszt", "Nagy ügyfél: kulcsügyfél-kezelő"),
        ("released", colleague, salesperson, "cli", "vissza az ERP-nek"),
    ]
    lines = owners(home, "history", "--partner", partner)[1].splitlines()
    assert len(lines) == 2 and lines[0].endswith(f"assigned {salesperson} → {colleague} by teszt: Nagy ügyfél: kulcsügyfél-kezelő")


def test_with_tasks_moves_the_old_owners_open_tasks(home: Path) -> None:
    tasks = [t for t in json.loads(erp_crm("--home", home, "tasks", "list", "--json").stdout) if t["owner"] and t["partner_key"]]
    assert tasks, "the demo's win-back chain made tasks for the salespeople"
    task = tasks[0]
    taker = next(login for login, active in users(home).items() if active and login != task["owner"])
    code, out, _ = owners(home, "set", "--partner", task["partner_key"], "--to", taker, "--reason", "szabadság", "--with-tasks")
    assert code == 0 and "open task(s) moved" in out, out
    history = erp_crm("--home", home, "tasks", "history", str(task["id"])).stdout
    assert f"handed_over by cli: {task['owner']} → {taker} (szabadság)" in history
    assert json.loads(owners(home, "history", "--partner", task["partner_key"], "--json")[1])[-1]["tasks_moved"] >= 1


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("set", "--partner", "nincs-ilyen", "--to", "admin", "--reason", "x"), "no partner with the ERP key 'nincs-ilyen'"),
        (("set", "--partner", "{partner}", "--to", "nincs.ilyen", "--reason", "x"), "no ERP user with the login 'nincs.ilyen'; nothing was changed"),
        (("set", "--partner", "{partner}", "--to", "{inactive}", "--reason", "x"), "is not an active ERP user; nothing was changed"),
        (("set", "--partner", "{partner}", "--to", "x' OR '1'='1", "--reason", "x"), "no ERP user with the login"),
        (("set", "--partner", "' OR 1=1 --", "--to", "admin", "--reason", "x"), "no partner with the ERP key"),
        (("set", "--partner", "{partner}", "--to", "admin", "--reason", "  "), "needs a reason; nothing was changed"),
        (("set", "--partner", "{partner}", "--to", "admin", "--reason", "a\x1bb"), "control character"),
        (("set", "--partner", "{partner}", "--to", "admin", "--reason", "x" * 5000), "at most 2,000; nothing was changed"),
        (("set", "--partner", "{partner}", "--to", "a" * 50_000, "--reason", "x"), "no ERP user with the login 'aaaa"),
        (("release", "--partner", "{partner}"), "Missing option '--reason'"),
        (("show",), "Missing option '--partner'"),
    ],
)
def test_mistakes_are_one_line_and_change_nothing(home: Path, args: tuple[str, ...], words: str) -> None:
    partner, _ = partner_with_a_salesperson(home)
    inactive = next(login for login, active in users(home).items() if not active)
    before = owners(home, "history", "--partner", partner, "--json")[1]
    code, _, err = owners(home, *(a.format(partner=partner, inactive=inactive) for a in args))
    assert code == 2 and len(err.strip().splitlines()) == 1 and words in err and len(err) < 500, err
    assert "Traceback" not in err and owners(home, "history", "--partner", partner, "--json")[1] == before


REASSIGN = """trigger: manual
steps:
  - id: hand
    reassign: {to: "role: key_accounts", reason: Kulcsügyfél}
"""


def test_a_reassign_step_with_roles_from_the_settings(home: Path) -> None:
    chain = home / "jobs" / "chains" / "key_accounts.yaml"
    chain.write_text(REASSIGN, encoding="utf-8")
    settings = home / "config" / "erp_crm.yaml"
    original = settings.read_text(encoding="utf-8")
    partner, _ = partner_with_a_salesperson(home)
    takers = sorted(login for login, active in users(home).items() if active)[:2]
    try:
        unknown = erp_crm("--home", home, "chains", "validate", "key_accounts")
        settings.write_text(original + f"chains:\n  roles:\n    key_accounts: [{', '.join(takers)}]\n    sales: []\n", encoding="utf-8")
        valid = erp_crm("--home", home, "chains", "validate", "key_accounts")
        enrolled = erp_crm("--home", home, "chains", "enrol", "key_accounts", "--partner", partner)
        ticked = erp_crm("--home", home, "chains", "tick", "--json")
        history = json.loads(owners(home, "history", "--partner", partner, "--json")[1])
    finally:
        chain.unlink()
        settings.write_text(original, encoding="utf-8")
    assert unknown.returncode == 2 and "key_accounts.yaml:4: step hand: no role 'key_accounts' in chains.roles (roles: finance, sales)" in unknown.stderr
    assert valid.returncode == 0 and enrolled.returncode == 0, valid.stderr + enrolled.stderr
    outcomes = {(s["step"], s["outcome"]): s["count"] for s in json.loads(ticked.stdout)["steps"] if s["chain"] == "key_accounts"}
    assert outcomes.get(("hand", "reassigned")) == 1 or outcomes.get(("hand", "unchanged")) == 1, outcomes
    if outcomes.get(("hand", "reassigned")):
        assert history[-1]["to"] in takers and history[-1]["step"] == "hand" and history[-1]["by"] == "chain key_accounts, step hand"

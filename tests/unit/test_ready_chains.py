"""Adding a ready chain to a home: the file copied once, the home's templates kept, nothing written outside jobs/chains/ and templates/."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from erp_crm.automation.ready_chains import add_ready_chain, not_added, ready_chains
from erp_crm.errors import UserError

SHIPPED = Path(__file__).resolve().parents[2] / "jobs" / "ready_chains"


def test_the_library_is_what_erp_crm_ships_and_the_home_may_add_to(tmp_path: Path) -> None:
    assert list(ready_chains(tmp_path)) == ["anniversary", "birthday", "interest", "invoice_overdue", "satisfaction", "welcome"]
    own = tmp_path / "jobs" / "ready_chains"
    own.mkdir(parents=True)
    (own / "welcome.yaml").write_text("trigger: manual\nsteps: [exit]\n", encoding="utf-8")
    (own / "Not A Name.yaml").write_text("x", encoding="utf-8")
    assert ready_chains(tmp_path)["welcome"] == own / "welcome.yaml", "the home's own comes first"
    assert "Not A Name" not in ready_chains(tmp_path)


def test_adding_copies_the_chain_and_only_the_templates_the_home_lacks(tmp_path: Path) -> None:
    kept = tmp_path / "templates" / "messages" / "hu" / "invoice_overdue.yaml"
    kept.parent.mkdir(parents=True)
    kept.write_text("email: {subject: saját, text: saját}\n", encoding="utf-8")
    added = add_ready_chain(tmp_path, "invoice_overdue")
    assert added.chain.read_bytes() == (SHIPPED / "invoice_overdue.yaml").read_bytes()
    assert sorted(str(p.relative_to(tmp_path)) for p in added.templates) == [
        "templates/messages/en/invoice_overdue.yaml",
        "templates/messages/en/invoice_overdue_second.yaml",
        "templates/messages/hu/invoice_overdue_second.yaml",
    ]
    assert kept.read_text(encoding="utf-8") == "email: {subject: saját, text: saját}\n", "the home's template is kept"
    assert "invoice_overdue" not in not_added(tmp_path)
    with pytest.raises(UserError, match="exists already; nothing was changed"):
        add_ready_chain(tmp_path, "invoice_overdue")
    added.undo()
    assert not added.chain.exists() and not any(p.exists() for p in added.templates) and kept.exists()


@pytest.mark.parametrize("name", ["../winback", "/etc/passwd", "a\x00b", "welcome\x00", "welcome/", "x" * 500, "\u202ewelcome", "wélcome"])
def test_a_name_that_is_not_a_ready_chain_s_writes_nothing(tmp_path: Path, name: str) -> None:
    with pytest.raises(UserError, match=r"is not the name of a ready chain .*; the ready chains: anniversary, birthday") as refused:
        add_ready_chain(tmp_path, name)
    assert "\n" not in str(refused.value) and len(str(refused.value)) < 400
    assert not (tmp_path / "jobs").exists()


def test_additions_at_the_same_moment_write_the_chain_once(tmp_path: Path) -> None:
    start = threading.Barrier(8)

    def add() -> str:
        start.wait()
        try:
            return str(add_ready_chain(tmp_path, "birthday").chain)
        except UserError as error:
            return str(error)

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(lambda _: add(), range(8)))
    assert sorted(outcomes).count(str(tmp_path / "jobs" / "chains" / "birthday.yaml")) == 1
    assert sum("exists already; nothing was changed" in outcome for outcome in outcomes) == 7

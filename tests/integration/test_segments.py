"""Segments on a handmade overlay: refresh with history and events, config errors, exports, statement counts.

The overlay is built at head and filled directly (partners, a salesperson, invoices and a
`crm_partner_metrics` row per partner), so each test states the figures its segments
see; each change tells the change feed whose data changed, as the sync and the metrics
runs do. Each test runs with a SQLite and a PostgreSQL overlay.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from erp_crm.entrypoints.cli import cli
from erp_crm.errors import ConfigError, UserError
from erp_crm.model.tables.feed import partner_change
from erp_crm.model.tables.metrics import metrics_run, partner_metrics
from erp_crm.model.tables.profile import partner_profile
from erp_crm.model.tables.segments import segment, segment_event, segment_member
from erp_crm.model.tables.synced import SYNCED
from erp_crm.segments import refresh
from erp_crm.segments.compiler import select_partners
from erp_crm.segments.definitions import SEGMENTS_FILE, save_segment
from erp_crm.segments.metrics_fields import segment_registry
from erp_crm.segments.refresh import RefreshReport, refresh_segments
from erp_crm.settings.metrics import MetricsSection, RfmSection
from erp_crm.settings.profile import ProfileSection
from erp_crm.store import change_feed
from erp_crm.store.overlay import Overlay as OverlayDatabase
from tests.support.homes import make_home
from tests.support.terminal import stderr_is_a_terminal, terminal_lines

AS_OF = dt.date(2024, 6, 30)
OLD = dt.datetime(2024, 1, 1)

SEGMENTS = """\
segments:
  at_risk:
    title: Veszélyeztetett vevők
    filter: rfm_group in (at_risk, cannot_lose)
  lapsed:
    filter: lapsed_rule and revenue_net >= 1000
  recent_buyers:
    filter:
      all:
        - bought: {within: 90 days}
        - {field: p_alive, ">": 0.5}
"""


class Overlay:
    def __init__(self, url: str, home: Path) -> None:
        self.url = sa.engine.make_url(url)
        self.database = OverlayDatabase.open(self.url, at_head=False)
        self.database.upgrade()
        self.engine = self.database.engine
        self.home = home
        self.metrics, self.profile = MetricsSection(), ProfileSection()
        self.ids: dict[str, int] = {}
        (home / "config").mkdir(parents=True, exist_ok=True)
        self.write_segments(SEGMENTS)
        with self.engine.begin() as conn:
            self.salesperson = conn.execute(
                sa.insert(SYNCED["user"]).values(source="t", erp_key="u1", name="Juhász Viktória", row_hash="x", synced_at=OLD).returning(SYNCED["user"].c.id)
            ).scalar_one()

    def write_segments(self, text: str) -> None:
        (self.home / "config" / "segments.yaml").write_text(text, encoding="utf-8")

    def partner(self, key: str, name: str, deleted: bool = False, **metrics: Any) -> int:
        partner = SYNCED["partner"]
        with self.engine.begin() as conn:
            pid = conn.execute(
                sa.insert(partner)
                .values(
                    source="t", erp_key=key, name=name, tax_number=f"1234567{len(self.ids)}-2-41", email=f"{key}@pelda.hu",
                    phone="+36 1 234 5678", city="Székesfehérvár", salesperson_id=self.salesperson, row_hash="x", synced_at=OLD,
                    erp_deleted_at=OLD if deleted else None,
                )
                .returning(partner.c.id)
            ).scalar_one()
            conn.execute(sa.insert(partner_metrics).values(**_metrics_row(pid, **metrics)))
            change_feed.record_partners(conn, "partner", [pid], dt.datetime.now())
        self.ids[key] = pid
        return pid

    def invoice(self, key: str, partner: str, date: dt.date, amount: float) -> None:
        inv = SYNCED["invoice"]
        with self.engine.begin() as conn:
            conn.execute(
                sa.insert(inv).values(
                    source="t", erp_key=key, partner_id=self.ids[partner], date=date, amount_net=amount,
                    status="posted", kind="invoice", row_hash="x", synced_at=OLD,
                )
            )
            change_feed.record_partners(conn, "invoice", [self.ids[partner]], dt.datetime.now())

    def set_metrics(self, key: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.update(partner_metrics).where(partner_metrics.c.partner_id == self.ids[key]).values(**values))
            change_feed.record_partners(conn, "metrics", [self.ids[key]], dt.datetime.now())

    def delete_partner(self, key: str) -> None:
        partner = SYNCED["partner"]
        with self.engine.begin() as conn:
            conn.execute(sa.update(partner).where(partner.c.id == self.ids[key]).values(erp_deleted_at=OLD))
            change_feed.record_partners(conn, "partner", [self.ids[key]], dt.datetime.now())

    def refresh_report(self, names: tuple[str, ...], as_of: dt.date) -> RefreshReport:
        registry = segment_registry(self.profile, self.metrics.rfm)
        return refresh_segments(self.database, self.home / SEGMENTS_FILE, registry, names, as_of=as_of)

    def refresh(self, *names: str, as_of: dt.date = AS_OF) -> dict[str, tuple[int, int, int]]:
        return {s.name: (s.members, s.entered, s.left) for s in self.refresh_report(names, as_of).segments}

    def looked_at(self, *names: str, as_of: dt.date = AS_OF) -> dict[str, int | None]:
        """Refresh; how many partners each segment looked at (None: everyone)."""
        return {s.name: s.looked_at for s in self.refresh_report(names, as_of).segments}

    def cli_home(self, tmp_path: Path) -> Path:
        """A home whose settings point at this overlay, with the same segments file."""
        home = make_home(tmp_path, overlay_url=self.url.render_as_string(hide_password=False))
        (home / SEGMENTS_FILE).write_text((self.home / SEGMENTS_FILE).read_text(encoding="utf-8"), encoding="utf-8")
        return home

    def age_changes(self) -> None:
        """Date the change feed a day back, as if what it holds had happened long before the next refresh."""
        with self.engine.begin() as conn:
            conn.execute(sa.update(partner_change).values(changed_at=partner_change.c.changed_at - dt.timedelta(days=1)))

    def matching(self, name: str, as_of: dt.date = AS_OF) -> set[str]:
        """The live partners the segment's filter matches now, evaluated whole."""
        partner = SYNCED["partner"]
        with self.engine.connect() as conn:
            text = conn.execute(sa.select(segment.c.filter).where(segment.c.name == name)).scalar_one()
            ids = select_partners(text, segment_registry(), as_of).where(partner.c.erp_deleted_at.is_(None))
            return set(conn.execute(sa.select(partner.c.erp_key).where(partner.c.id.in_(ids))).scalars())

    def members(self, name: str) -> set[str]:
        return {k for k, left in self.history(name) if left is None}

    def history(self, name: str) -> list[tuple[str, Any]]:
        """(partner key, left_at) of the segment's membership rows, oldest first."""
        return self._rows(name, segment_member, segment_member.c.left_at)

    def events(self, name: str) -> list[tuple[str, str]]:
        """(kind, partner key) of the segment's events, oldest first."""
        return [(kind, key) for key, kind in self._rows(name, segment_event, segment_event.c.kind)]

    def _rows(self, name: str, table: sa.Table, column: Any) -> list[tuple[str, Any]]:
        partner = SYNCED["partner"]
        query = (
            sa.select(partner.c.erp_key, column)
            .join(table, table.c.partner_id == partner.c.id)
            .join(segment, segment.c.id == table.c.segment_id)
            .where(segment.c.name == name)
            .order_by(table.c.id)
        )
        with self.engine.connect() as conn:
            return [(r[0], r[1]) for r in conn.execute(query)]


def _metrics_row(partner_id: int, **values: Any) -> dict[str, Any]:
    zero_counts = ("quotes", "orders", "invoices", "credit_notes", "complaints", "purchase_days")
    zero_money = ("order_value", "revenue_net", "services_value", "credit_note_value", "purchase_value")
    row: dict[str, Any] = {"partner_id": partner_id, "as_of": AS_OF, "source": "t", "computed_at": OLD}
    row.update(dict.fromkeys(zero_counts, 0), **dict.fromkeys(zero_money, 0.0))
    row.update(values)
    return row


@pytest.fixture
def overlay(overlay_url: str, tmp_path: Path) -> Overlay:
    o = Overlay(overlay_url, tmp_path / "home")
    o.partner("alfa", "Alfa Kft.", rfm_group="at_risk", lapsed_rule=True, revenue_net=5000.0, p_alive=0.9, recency_days=400, lapse_reason={"silent": {"days": 400}})
    o.partner("beta", "Béta Bt.", rfm_group="champions", lapsed_rule=False, revenue_net=9000.0, p_alive=0.95, recency_days=10)
    o.partner("gamma", "Gamma Zrt.", rfm_group="cannot_lose", lapsed_rule=True, revenue_net=500.0, p_alive=0.2, recency_days=500)
    o.partner("delta", "Delta Kft.", deleted=True, rfm_group="at_risk", lapsed_rule=True, revenue_net=7000.0, p_alive=0.9)
    o.partner("eps", "Epszilon Kft.", rfm_group="no_purchase")
    o.invoice("I1", "beta", dt.date(2024, 6, 1), 1000)
    o.invoice("I2", "alfa", dt.date(2024, 6, 10), 1000)
    o.invoice("I3", "gamma", dt.date(2024, 7, 10), 1000)  # after as_of: not bought yet
    o.invoice("I4", "delta", dt.date(2024, 6, 10), 1000)
    return o


def test_refresh_enters_and_leaves_members_with_history_and_events(overlay: Overlay) -> None:
    assert overlay.refresh() == {"at_risk": (2, 2, 0), "lapsed": (1, 1, 0), "recent_buyers": (2, 2, 0)}
    assert overlay.members("at_risk") == {"alfa", "gamma"}  # delta matches but was deleted in the ERP
    assert overlay.members("lapsed") == {"alfa"}
    assert overlay.members("recent_buyers") == {"alfa", "beta"}
    assert overlay.events("at_risk") == [("entered", "alfa"), ("entered", "gamma")]

    # nothing changed: no membership rows, no events
    assert overlay.refresh() == {"at_risk": (2, 0, 0), "lapsed": (1, 0, 0), "recent_buyers": (2, 0, 0)}
    assert len(overlay.events("at_risk")) == 2 and len(overlay.history("at_risk")) == 2

    # alfa recovers, beta slips; gamma is deleted in the ERP
    overlay.set_metrics("alfa", rfm_group="loyal")
    overlay.set_metrics("beta", rfm_group="at_risk")
    overlay.delete_partner("gamma")
    assert overlay.refresh("at_risk") == {"at_risk": (1, 1, 2)}
    assert overlay.members("at_risk") == {"beta"}
    assert overlay.events("at_risk")[2:] == [("entered", "beta"), ("left", "alfa"), ("left", "gamma")]

    # alfa comes back: a new membership row, the old one kept
    overlay.set_metrics("alfa", rfm_group="cannot_lose")
    assert overlay.refresh("at_risk") == {"at_risk": (2, 1, 0)}
    history = overlay.history("at_risk")
    assert [k for k, _ in history] == ["alfa", "gamma", "beta", "alfa"]
    assert [left is None for _, left in history] == [False, False, True, True]
    assert overlay.events("at_risk")[-1] == ("entered", "alfa")

    # the relative period moves with as_of: alfa's and beta's purchases fall out of 90 days
    assert overlay.refresh("recent_buyers", as_of=dt.date(2024, 12, 31)) == {"recent_buyers": (0, 0, 2)}


def test_a_refresh_looks_only_at_the_partners_changed_since_the_last_where_the_filter_allows(overlay: Overlay, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(refresh, "WHOLE_SHARE", 1.0)  # look at the changed partners however many of the five
    overlay.write_segments(SEGMENTS + "  keys:\n    filter: key_account\n")
    overlay.age_changes()
    assert overlay.looked_at() == {"at_risk": None, "keys": None, "lapsed": None, "recent_buyers": None}, "a first refresh sees everyone"

    overlay.set_metrics("beta", rfm_group="at_risk")
    assert overlay.looked_at() == {"at_risk": 1, "keys": 1, "lapsed": 1, "recent_buyers": 1}
    assert overlay.members("at_risk") == {"alfa", "beta", "gamma"}

    with overlay.engine.begin() as conn:  # the CRM marks a key account: the profile's stamp tells
        conn.execute(sa.insert(partner_profile).values(partner_id=overlay.ids["eps"], key_account=True, updated_at=dt.datetime.now()))
    assert overlay.looked_at("keys") == {"keys": 2} and overlay.members("keys") == {"eps"}

    # another day: "bought within 90 days" means something else, the metrics filters do not
    assert overlay.looked_at(as_of=AS_OF + dt.timedelta(days=1)) == {"at_risk": 2, "keys": 2, "lapsed": 2, "recent_buyers": None}

    overlay.write_segments(SEGMENTS.replace("revenue_net >= 1000", "revenue_net >= 2000") + "  keys:\n    filter: key_account\n")
    assert overlay.looked_at("lapsed")["lapsed"] is None, "a changed filter is refreshed whole"

    with overlay.engine.begin() as conn:  # a product changed: anyone's purchases may have
        change_feed.record_everyone(conn, "product", dt.datetime.now())
    assert overlay.looked_at("at_risk") == {"at_risk": None}


def test_incremental_refreshes_keep_membership_equal_to_the_filter(overlay_url: str, tmp_path: Path) -> None:
    import random

    o = Overlay(overlay_url, tmp_path / "home")
    groups = ("at_risk", "cannot_lose", "loyal", "champions")
    for i in range(40):
        o.partner(f"p{i}", f"Partner {i}", rfm_group=groups[i % 4], lapsed_rule=i % 3 == 0, revenue_net=500.0 * i, p_alive=0.5)
    o.age_changes()
    o.refresh()
    rnd = random.Random(3)
    for _ in range(6):
        o.age_changes()
        for key in rnd.sample(sorted(o.ids), 5):
            o.set_metrics(key, rfm_group=rnd.choice(groups), lapsed_rule=rnd.random() < 0.5, revenue_net=rnd.choice([0.0, 1500.0]))
        if rnd.random() < 0.5:
            o.delete_partner(rnd.choice(sorted(o.ids)))
        looked = o.looked_at("at_risk", "lapsed")
        assert all(n is not None and n <= 6 for n in looked.values()), looked
        assert o.members("at_risk") == o.matching("at_risk") and o.members("lapsed") == o.matching("lapsed")


def test_rfm_group_names_and_custom_fields_come_from_the_settings(overlay: Overlay) -> None:
    grid = tuple(("alvó", "alvó", "értékes", "értékes", "értékes") for _ in range(5))
    overlay.metrics = MetricsSection(rfm=RfmSection(groups=grid))
    overlay.profile = ProfileSection(custom_fields={"branch": "text"})
    overlay.set_metrics("alfa", rfm_group="értékes")
    with overlay.engine.begin() as conn:
        conn.execute(sa.insert(partner_profile).values(partner_id=overlay.ids["alfa"], custom={"branch": "Győr"}, updated_at=dt.datetime.now()))
    overlay.write_segments('segments:\n  valuable:\n    filter: rfm_group = értékes and custom.branch = "győr"\n')
    assert overlay.refresh() == {"valuable": (1, 1, 0)}
    overlay.write_segments(SEGMENTS)  # names of the default grid, which these settings replaced
    with pytest.raises(ConfigError, match=r"segments.yaml:4: segment at_risk: filter line 1, column 15: rfm_group has no choice 'at_risk' \(one of: alvó, no_purchase, unclassified, értékes\)"):
        overlay.refresh()


def test_user_segments_are_refreshed_beside_the_config_ones(overlay: Overlay) -> None:
    registry = segment_registry()
    with overlay.engine.begin() as conn:
        save_segment(conn, "big_spenders", {"field": "revenue_net", ">=": 5000}, registry, AS_OF, title="Nagyvevők")
    assert overlay.refresh("big_spenders") == {"big_spenders": (2, 2, 0)}
    assert overlay.members("big_spenders") == {"alfa", "beta"}
    with overlay.engine.connect() as conn:
        stored = conn.execute(sa.select(segment.c.filter, segment.c.source).where(segment.c.name == "big_spenders")).one()
    assert tuple(stored) == ("revenue_net >= 5000", "user")
    with overlay.engine.begin() as conn, pytest.raises(UserError, match="built-in"):
        save_segment(conn, "at_risk", "key_account", registry, AS_OF)
    with pytest.raises(UserError, match="no segment named 'nobody'"):
        overlay.refresh("nobody")


@pytest.mark.parametrize(
    ("filter_yaml", "expected"),
    [
        ('"rfm_grup = at_risk"', ":3: segment broken: filter line 1, column 1: unknown field 'rfm_grup' (did you mean 'rfm_group'?)"),
        (
            "\n      all:\n        - lapsed_rule\n        - {field: recency_dayz, '>': 30}",
            ":6: segment broken: filter all[1].field: unknown field 'recency_dayz' (did you mean 'recency_days'?)",
        ),
        ('"rfm_group = at risk"', ":3: segment broken: filter line 1, column 16: "),
    ],
)
def test_a_filter_error_in_segments_yaml_is_one_line_naming_file_segment_and_place(overlay: Overlay, filter_yaml: str, expected: str) -> None:
    overlay.write_segments(f"segments:\n  broken:\n    filter: {filter_yaml}\n")
    with pytest.raises(ConfigError) as caught:
        overlay.refresh()
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(overlay.home / "config" / "segments.yaml") + expected), message


def export(home: Path, name: str, path: Path, *options: str) -> int:
    """`erp-crm segments export NAME --output PATH [options]`; the number of members it says it wrote."""
    done = CliRunner().invoke(cli, ["--home", str(home), "segments", "export", name, "--output", str(path), *options])
    assert done.exit_code == 0, done.output
    return int(done.output.split()[0])


def test_export_csv_and_xlsx(overlay: Overlay, tmp_path: Path) -> None:
    overlay.refresh()
    home, path = overlay.cli_home(tmp_path), tmp_path / "at_risk.csv"
    rows = export(home, "at_risk", path)
    raw = path.read_bytes()
    assert rows == 2 and raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].split(";")[:8] == ["partner_key", "name", "tax_number", "email", "phone", "city", "salesperson", "entered_at"]
    # A text cell starting with + is a formula to Excel: it gets a leading quote (docs/filters.md, Export).
    assert lines[1].startswith("alfa;Alfa Kft.;12345670-2-41;alfa@pelda.hu;'+36 1 234 5678;Székesfehérvár;Juhász Viktória;")
    frame = pd.read_csv(path, sep=";", encoding="utf-8-sig")
    assert list(frame["rfm_group"]) == ["at_risk", "cannot_lose"] and list(frame["revenue_net"]) == [5000.0, 500.0]

    comma = tmp_path / "comma.csv"
    export(home, "at_risk", comma, "--separator", ",")
    assert comma.read_text(encoding="utf-8-sig").splitlines()[0].startswith("partner_key,name,tax_number,")

    xlsx = tmp_path / "lapsed.xlsx"
    rows = export(home, "lapsed", xlsx, "--format", "xlsx", "--lang", "en")
    sheet = pd.read_excel(xlsx, sheet_name="members", engine="openpyxl")
    assert rows == 1 and list(sheet["name"]) == ["Alfa Kft."] and list(sheet["city"]) == ["Székesfehérvár"]
    assert bool(sheet["lapsed_rule"][0]) is True and sheet["recency_days"][0] == 400
    assert sheet["lapse_reason"][0] == "no purchase for 400 days"


def test_refresh_issues_the_same_number_of_statements_for_any_number_of_partners(overlay_url: str, tmp_path: Path) -> None:
    o = Overlay(overlay_url, tmp_path / "home")

    def add_partners(start: int, stop: int) -> None:
        for i in range(start, stop):
            o.partner(f"p{i}", f"Partner {i}", rfm_group="at_risk" if i % 2 else "loyal", lapsed_rule=i % 3 == 0, revenue_net=2000.0, p_alive=0.9)
            o.invoice(f"I{i}", f"p{i}", dt.date(2024, 6, 1), 100)

    def statements() -> int:
        """Statements of a first refresh (every segment gains members), from a clean slate."""
        with o.engine.begin() as conn:
            for table in (segment_event, segment_member, segment):
                conn.execute(sa.delete(table))
        counted: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            counted.append(statement)

        sa.event.listen(sa.engine.Engine, "before_cursor_execute", count)
        try:
            report = o.refresh()
        finally:
            sa.event.remove(sa.engine.Engine, "before_cursor_execute", count)
        assert all(entered > 0 for _, entered, _ in report.values()), report
        return len(counted)

    add_partners(0, 4)
    few = statements()
    add_partners(4, 80)
    many = statements()
    assert few == many, (few, many)
    assert many <= 12 + 8 * 3  # reading and syncing the definitions, then a few statements per segment


def test_a_refresh_without_a_day_takes_the_day_of_the_last_metrics_run(overlay: Overlay, tmp_path: Path) -> None:
    """The figures are as of the metrics' day: "within 90 days" of today beside them made 26 spurious events on history."""
    home = make_home(tmp_path, overlay_url=overlay.url.render_as_string(hide_password=False))
    (home / "config" / "segments.yaml").write_text(SEGMENTS, encoding="utf-8")
    run = CliRunner().invoke
    before = run(cli, ["--home", str(home), "segments", "refresh", "recent_buyers"])
    assert before.exit_code == 0 and f"segments as of {dt.date.today()} (today: metrics have not run yet)" in before.output, before.output
    assert overlay.members("recent_buyers") == set(), "nobody bought within 90 days of today"
    with overlay.engine.begin() as conn:
        for day, finished in ((dt.date(2024, 5, 1), OLD), (AS_OF, OLD), (dt.date(2024, 12, 31), None)):  # the last one never finished
            conn.execute(sa.insert(metrics_run).values(as_of=day, mode="full", started_at=OLD, finished_at=finished))
    after = run(cli, ["--home", str(home), "segments", "refresh", "recent_buyers", "--json"])
    report = json.loads(after.output)
    assert (report["as_of"], report["as_of_from"]) == ("2024-06-30", "metrics")
    assert overlay.members("recent_buyers") == {"alfa", "beta"}
    shown = run(cli, ["--home", str(home), "segments", "refresh", "recent_buyers"])
    assert shown.output.startswith("segments as of 2024-06-30 (the day of the last metrics run): 1 refreshed")
    assert json.loads(after.output)["notes"] == [], "the figures' own day: nothing to warn of"
    given = run(cli, ["--home", str(home), "segments", "refresh", "recent_buyers", "--as-of", "2024-12-31", "--json"])
    assert json.loads(given.output)["as_of_from"] == "given" and overlay.members("recent_buyers") == set()
    assert json.loads(given.output)["notes"] == [
        "the partners' figures are as of 2024-06-30 (the last metrics run) and the filters' dates as of 2024-12-31: "
        "a filter that mixes them flags partners neither day would; run `erp-crm metrics compute --as-of 2024-12-31` first"
    ]
    said = run(cli, ["--home", str(home), "segments", "refresh", "recent_buyers", "--as-of", "2024-12-31"])
    assert said.output.splitlines()[1].startswith("note: the partners' figures are as of 2024-06-30")


def test_progress_hears_each_segment_by_name_with_its_place_among_them(overlay: Overlay) -> None:
    registry = segment_registry(overlay.profile, overlay.metrics.rfm)
    heard: list[tuple[str, int | None, int | None]] = []
    refresh_segments(overlay.database, overlay.home / SEGMENTS_FILE, registry, as_of=AS_OF, progress=lambda *call: heard.append(call))
    assert heard == [("at_risk", 1, 3), ("lapsed", 2, 3), ("recent_buyers", 3, 3)]
    heard.clear()
    refresh_segments(overlay.database, overlay.home / SEGMENTS_FILE, registry, ("recent_buyers", "at_risk"), as_of=AS_OF, progress=lambda *call: heard.append(call))
    assert heard == [("at_risk", 1, 2), ("recent_buyers", 2, 2)], "only the segments named, counted among themselves"


def test_refresh_progress_is_shown_on_a_terminal_only_and_never_with_json(overlay: Overlay, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = overlay.cli_home(tmp_path)
    command = ["--home", str(home), "segments", "refresh", "--as-of", "2024-06-30"]
    run = CliRunner().invoke
    piped = run(cli, command)
    assert piped.exit_code == 0 and piped.stdout.startswith("segments as of 2024-06-30") and piped.stderr == "", "stderr is not a terminal here"
    stderr_is_a_terminal(monkeypatch)
    shown = run(cli, command)
    assert shown.exit_code == 0 and shown.stdout.startswith("segments as of 2024-06-30")
    assert terminal_lines(shown.stderr) == [
        f"{name:<17} [{bar:<30}] {share:>4} {number:>12} / 3"
        for name, bar, share, number in (("at_risk", "#" * 10, "33%", 1), ("lapsed", "#" * 20, "67%", 2), ("recent_buyers", "#" * 30, "100%", 3))
    ]
    scripted = run(cli, [*command, "--json"])
    assert scripted.exit_code == 0 and scripted.stderr == ""
    assert [s["name"] for s in json.loads(scripted.stdout)["segments"]] == ["at_risk", "lapsed", "recent_buyers"]


def test_segments_commands(overlay: Overlay, tmp_path: Path) -> None:
    home = make_home(tmp_path, overlay_url=overlay.url.render_as_string(hide_password=False))
    (home / "config" / "segments.yaml").write_text(SEGMENTS, encoding="utf-8")
    run = CliRunner().invoke
    refreshed = run(cli, ["--home", str(home), "segments", "refresh", "--as-of", "2024-06-30", "--json"])
    assert refreshed.exit_code == 0, refreshed.output
    assert {s["name"]: s["members"] for s in json.loads(refreshed.output)["segments"]} == {"at_risk": 2, "lapsed": 1, "recent_buyers": 2}
    listed = run(cli, ["--home", str(home), "segments", "list"])
    assert listed.exit_code == 0 and "at_risk" in listed.output and "Veszélyeztetett vevők" in listed.output
    shown = run(cli, ["--home", str(home), "segments", "show", "at_risk", "--json"])
    details = json.loads(shown.output)
    assert (details["filter"], details["members"], len(details["events"])) == ("rfm_group in (at_risk, cannot_lose)", 2, 2)
    out = tmp_path / "list.xlsx"
    exported = run(cli, ["--home", str(home), "segments", "export", "at_risk", "--format", "xlsx", "--output", str(out)])
    assert exported.exit_code == 0 and exported.output.strip() == f"2 members of at_risk written to {out}"

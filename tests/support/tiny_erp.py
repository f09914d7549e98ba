"""A tiny Dolibarr-like ERP for tests of the sync: three tables, filled deterministically.

    soc(rowid, nom, typ, tms)                                  partners
    fac(rowid, fk_soc, datef, ref, type, total_ht, statut, tms)  invoices (type 2 = credit note,
                                                                 statut 0 = draft)
    facdet(rowid, fk_facture, total_ht, descr)                  invoice lines, no change column

`TinyErp.create(url, ...)` builds and fills it in an empty SQLite, PostgreSQL or MariaDB
database; `install_connector(home)` puts the matching definition (`tests/support/
connectors/tiny.yaml`, connector name "tiny") into a home. The mutation methods change
it the way an ERP does: each call is one transaction whose rows all get the same new
`tms`, one `STEP` later than any before (so the order of changes is the order of `tms`,
with ties inside a transaction), and a change to a line moves its invoice's `tms`,
because that is all an incremental sync of lines without a change column can see.

`expected()` says what the overlay should hold after a complete sync, computed from
the ERP alone (not with the engine's code), and `differences()` compares it with an
overlay row for row.
"""

from __future__ import annotations

import random
import shutil
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.pool import NullPool

from erp_crm.model import migrate
from erp_crm.settings.root import load_settings
from erp_crm.store.overlay import Overlay
from tests.support.homes import make_home

CONNECTOR = "tiny"
CONNECTOR_FILE = Path(__file__).resolve().parent / "connectors" / f"{CONNECTOR}.yaml"
START = datetime(2024, 1, 1, 8, 0, 0)
STEP = timedelta(minutes=1)  # ERP time between two changing transactions
CENT = Decimal("0.01")
KINDS = {0: "invoice", 2: "credit_note"}
STATUSES = {1: "posted", 2: "paid", 3: "cancelled"}  # 0 = draft: filtered out by the definition
PERSON = 8  # typ of a private person, as Dolibarr's fk_typent 8

Snapshot = dict[str, dict[str, tuple[Any, ...]]]  # entity → ERP key → canonical values

# SQLite keeps datetimes as text; store them as ERPs on SQLite do, without microseconds.
_DATETIME = sa.DateTime().with_variant(
    sqlite.DATETIME(storage_format="%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d"), "sqlite"
)
_metadata = sa.MetaData()


def _table(name: str, *columns: sa.Column[Any]) -> sa.Table:
    """An ERP table keyed by `rowid`, as all of Dolibarr's are."""
    return sa.Table(name, _metadata, sa.Column("rowid", sa.Integer, primary_key=True, autoincrement=False), *columns)


soc = _table("soc", sa.Column("nom", sa.String(128), nullable=False), sa.Column("typ", sa.Integer), sa.Column("tms", _DATETIME))
fac = _table(
    "fac",
    sa.Column("fk_soc", sa.Integer, nullable=False, index=True),
    sa.Column("datef", sa.Date),
    sa.Column("ref", sa.String(30), nullable=False),
    sa.Column("type", sa.SmallInteger, nullable=False),
    sa.Column("total_ht", sa.Numeric(24, 8)),
    sa.Column("statut", sa.SmallInteger, nullable=False),
    sa.Column("tms", _DATETIME),
)
facdet = _table(
    "facdet",
    sa.Column("fk_facture", sa.Integer, nullable=False, index=True),
    sa.Column("total_ht", sa.Numeric(24, 8)),
    sa.Column("descr", sa.Text),
)

_FIRST = ("Kovács", "Szabó", "Tóth", "Nagy", "Horváth", "Kiss", "Molnár", "Németh", "Farkas", "Balogh")
_SUFFIX = ("Kft.", "Bt.", "Zrt.", "és Társa Kft.", "")
_ITEMS = ("csavar M8", "szerelés", "tanácsadás óradíj", "kábel 3×1,5", "szállítás", "karbantartás")


def install_connector(home: Path) -> str:
    """Copy the tiny definition into `<home>/connectors/` and return its name for `erp.connector`."""
    folder = home / "connectors"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CONNECTOR_FILE, folder / CONNECTOR_FILE.name)
    return CONNECTOR


def tiny_home(tmp_path: Path, erp_url: str | None = None, *, overlay_url: str | None = None, upgrade_to: str | None = "head", **extra: Any) -> Path:
    """A home on the tiny connector; its overlay made at `upgrade_to` (None: not made)."""
    home = make_home(tmp_path, erp_url=erp_url, connector=CONNECTOR, overlay_url=overlay_url, extra=extra)
    install_connector(home)
    if upgrade_to is not None:
        overlay = Overlay.open(load_settings(home, environ={}).overlay.full_url(), at_head=False)
        with overlay.begin() as conn:
            migrate.upgrade(conn, upgrade_to)
        overlay.close()
    return home


def _money(rng: random.Random) -> Decimal:
    return Decimal(rng.randint(100, 99_999)) / 100


@dataclass
class TinyErp:
    """A filled tiny ERP; `engine` writes to it (the sync itself only ever reads)."""

    url: str
    engine: sa.Engine
    rng: random.Random = field(repr=False)

    # -- building -----------------------------------------------------------------

    @classmethod
    def create(cls, url: str, *, partners: int = 20, invoices: int = 50, lines: int = 150, seed: int = 1) -> TinyErp:
        """Create the tables in the (empty) database at `url` and fill them.

        `lines` are spread evenly over the invoices. About one invoice in ten is a credit
        note (negative amounts, as Dolibarr stores them) and one in twenty a draft. The
        same arguments give the same rows, keys and timestamps.
        """
        if sa.make_url(url).get_backend_name() == "sqlite" and sa.make_url(url).database in (None, "", ":memory:"):
            raise ValueError("the tiny ERP must be a SQLite file: the sync opens it by name")
        if partners < 1 or invoices < 0 or lines < 0 or (lines and not invoices):
            raise ValueError("need at least one partner, and invoices for the lines")
        engine = sa.create_engine(url, poolclass=NullPool)
        _metadata.create_all(engine)
        erp = cls(url, engine, random.Random(seed))
        rng = erp.rng
        with engine.begin() as conn:
            conn.execute(soc.insert(), [erp._partner_row(i, START + timedelta(minutes=i)) for i in range(1, partners + 1)])
            per, extra = divmod(lines, invoices) if invoices else (0, 0)
            line_id = 0
            invoice_rows, line_rows = [], []
            for i in range(1, invoices + 1):
                count = per + (1 if i <= extra else 0)
                header, detail = erp._invoice_rows(i, rng.randint(1, partners), line_id + 1, count, START + timedelta(minutes=partners + i))
                line_id += count
                invoice_rows.append(header)
                line_rows.extend(detail)
                if len(line_rows) >= 20_000:
                    conn.execute(facdet.insert(), line_rows)
                    line_rows = []
            if invoice_rows:
                conn.execute(fac.insert(), invoice_rows)
            if line_rows:
                conn.execute(facdet.insert(), line_rows)
        return erp

    def _partner_row(self, rowid: int, tms: datetime) -> dict[str, Any]:
        rng = self.rng
        person = rng.random() < 0.3
        name = f"{rng.choice(_FIRST)} {'Anna' if person else rng.choice(_SUFFIX)} {rowid}".replace("  ", " ")
        return {"rowid": rowid, "nom": name, "typ": PERSON if person else rng.choice((0, 2, 3)), "tms": tms}

    def _invoice_rows(
        self, rowid: int, partner: int, first_line: int, count: int, tms: datetime
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        rng = self.rng
        kind = 2 if rng.random() < 0.1 else 0
        sign = -1 if kind == 2 else 1
        lines = [
            {"rowid": first_line + n, "fk_facture": rowid, "total_ht": sign * _money(rng), "descr": rng.choice(_ITEMS)}
            for n in range(count)
        ]
        header = {
            "rowid": rowid,
            "fk_soc": partner,
            "datef": date(2024, 1, 1) + timedelta(days=rng.randint(0, 700)),
            "ref": f"{'AV' if kind == 2 else 'FA'}{rowid:07d}",
            "type": kind,
            "total_ht": sum((line["total_ht"] for line in lines), Decimal(0)),
            "statut": 0 if rng.random() < 0.05 else rng.choice((1, 1, 2, 2, 3)),
            "tms": tms,
        }
        return header, lines

    # -- mutating, as an ERP does -----------------------------------------------------

    def _tick(self, conn: sa.Connection) -> datetime:
        """The change value of this transaction: `STEP` after the latest the ERP holds.

        Like `NOW()` in an ERP's transaction, every row one call changes gets the same value.
        """
        latest = max(
            (v for v in (conn.execute(sa.select(sa.func.max(t.c.tms))).scalar() for t in (soc, fac)) if v is not None),
            default=START,
        )
        return latest + STEP

    def _next_id(self, conn: sa.Connection, table: sa.Table) -> int:
        return (conn.execute(sa.select(sa.func.max(table.c.rowid))).scalar() or 0) + 1

    def keys(self, table: sa.Table, where: sa.ColumnElement[bool] | None = None) -> list[int]:
        """The table's keys in order, optionally only those matching `where`."""
        query = sa.select(table.c.rowid).order_by(table.c.rowid)
        with self.engine.connect() as conn:
            return list(conn.execute(query if where is None else query.where(where)).scalars())

    def sample(self, table: sa.Table, count: int, where: sa.ColumnElement[bool] | None = None) -> list[int]:
        """Up to `count` keys of `table` picked with the ERP's own seeded random generator."""
        keys = self.keys(table, where)
        return sorted(self.rng.sample(keys, min(count, len(keys))))

    def rename_partners(self, keys: Sequence[int]) -> None:
        """Change the partners' names and kinds, moving their `tms`."""
        rows = [{"k": key, "nom": f"{self.rng.choice(_FIRST)} Új {key}", "typ": self.rng.choice((0, PERSON))} for key in keys]
        with self.engine.begin() as conn:
            if rows:
                tms = self._tick(conn)
                conn.execute(soc.update().where(soc.c.rowid == sa.bindparam("k")).values(tms=tms), rows)

    def insert_partners(self, count: int) -> list[int]:
        """Add `count` partners; returns their keys."""
        with self.engine.begin() as conn:
            first, tms = self._next_id(conn, soc), self._tick(conn)
            rows = [self._partner_row(first + n, tms) for n in range(count)]
            if rows:
                conn.execute(soc.insert(), rows)
        return [row["rowid"] for row in rows]

    def insert_invoices(self, count: int, lines_each: int = 3) -> list[int]:
        """Add `count` invoices of `lines_each` lines for random existing partners; returns their keys."""
        with self.engine.begin() as conn:
            partners = list(conn.execute(sa.select(soc.c.rowid).order_by(soc.c.rowid)).scalars())
            first, line_id, tms = self._next_id(conn, fac), self._next_id(conn, facdet), self._tick(conn)
            headers, lines = [], []
            for n in range(count):
                header, detail = self._invoice_rows(first + n, self.rng.choice(partners), line_id, lines_each, tms)
                line_id += lines_each
                headers.append(header)
                lines.extend(detail)
            if headers:
                conn.execute(fac.insert(), headers)
            if lines:
                conn.execute(facdet.insert(), lines)
        return [h["rowid"] for h in headers]

    def update_invoices(self, keys: Sequence[int]) -> None:
        """Move the invoices on in their life (draft → posted → paid) and renumber about a third."""
        with self.engine.begin() as conn:
            tms = self._tick(conn)
            for part in _chunks(keys):
                conn.execute(
                    fac.update()
                    .where(fac.c.rowid.in_(part))
                    .values(statut=sa.case((fac.c.statut == 0, 1), (fac.c.statut == 1, 2), else_=fac.c.statut), tms=tms)
                )
            renumbered = [{"k": key, "ref": f"FX{key:07d}"} for key in keys if self.rng.random() < 0.3]
            if renumbered:
                conn.execute(fac.update().where(fac.c.rowid == sa.bindparam("k")), renumbered)

    def unpost_invoices(self, keys: Sequence[int]) -> None:
        """Set invoices back to draft: they leave the definition's filter (only reconciliation sees that)."""
        with self.engine.begin() as conn:
            tms = self._tick(conn)
            for part in _chunks(keys):
                conn.execute(fac.update().where(fac.c.rowid.in_(part)).values(statut=0, tms=tms))

    def change_lines(self, invoices: Sequence[int]) -> None:
        """Re-price every line of these invoices and update their totals, moving the invoices' `tms`."""
        with self.engine.begin() as conn:
            tms = self._tick(conn)
            for part in _chunks(invoices):
                credit = set(conn.execute(sa.select(fac.c.rowid).where(fac.c.rowid.in_(part), fac.c.type == 2)).scalars())
                lines = conn.execute(sa.select(facdet.c.rowid, facdet.c.fk_facture).where(facdet.c.fk_facture.in_(part))).all()
                rows = [
                    {"k": line, "total_ht": (-1 if invoice in credit else 1) * _money(self.rng), "descr": f"módosítva {line}"}
                    for line, invoice in sorted(lines)
                ]
                if rows:
                    conn.execute(facdet.update().where(facdet.c.rowid == sa.bindparam("k")), rows)
                self._retotal(conn, part, tms)

    def delete_lines(self, invoices: Sequence[int], count: int = 1) -> list[int]:
        """Delete the last `count` lines of each invoice, moving the invoices' `tms`; returns the lines' keys."""
        gone: list[int] = []
        with self.engine.begin() as conn:
            tms = self._tick(conn)
            for part in _chunks(invoices):
                by_invoice: dict[int, list[int]] = {}
                query = sa.select(facdet.c.fk_facture, facdet.c.rowid).where(facdet.c.fk_facture.in_(part)).order_by(facdet.c.rowid)
                for invoice, line in conn.execute(query):
                    by_invoice.setdefault(invoice, []).append(line)
                doomed = [line for lines in by_invoice.values() for line in lines[len(lines) - min(count, len(lines)) :]]
                if doomed:
                    conn.execute(facdet.delete().where(facdet.c.rowid.in_(doomed)))
                gone.extend(doomed)
                self._retotal(conn, part, tms)
        return sorted(gone)

    def _retotal(self, conn: sa.Connection, invoices: Sequence[int], tms: datetime) -> None:
        """Invoice totals are the sum of their lines, as the ERP recomputes them."""
        total = sa.select(sa.func.coalesce(sa.func.sum(facdet.c.total_ht), 0)).where(facdet.c.fk_facture == fac.c.rowid).scalar_subquery()
        conn.execute(fac.update().where(fac.c.rowid.in_(invoices)).values(total_ht=total, tms=tms))

    def delete_invoices(self, keys: Sequence[int]) -> None:
        """Delete invoices with their lines, as the ERP does."""
        with self.engine.begin() as conn:
            for part in _chunks(keys):
                conn.execute(facdet.delete().where(facdet.c.fk_facture.in_(part)))
                conn.execute(fac.delete().where(fac.c.rowid.in_(part)))

    def delete_partners(self, keys: Sequence[int]) -> None:
        """Delete partners; like the ERP, refuse while invoices point at them."""
        with self.engine.begin() as conn:
            for part in _chunks(keys):
                used = conn.execute(sa.select(fac.c.fk_soc).where(fac.c.fk_soc.in_(part)).limit(1)).scalar()
                if used is not None:
                    raise ValueError(f"partner {used} still has invoices")
                conn.execute(soc.delete().where(soc.c.rowid.in_(part)))

    def partners_without_invoices(self) -> list[int]:
        return self.keys(soc, ~sa.exists().where(fac.c.fk_soc == soc.c.rowid))

    # -- what a complete sync must produce ----------------------------------------------

    def expected(self) -> Snapshot:
        """Canonical values per entity and key, from the ERP and the definition's rules alone."""
        with self.engine.connect() as conn:
            partners = {
                str(r.rowid): (r.nom, "person" if r.typ == PERSON else "company")
                for r in conn.execute(sa.select(soc))
            }
            invoices = {
                str(r.rowid): (r.ref, str(r.fk_soc), _day(r.datef), STATUSES[r.statut], KINDS[r.type], _cents(r.total_ht))
                for r in conn.execute(sa.select(fac).where(fac.c.statut > 0))
            }
            posted = sa.select(fac.c.rowid).where(fac.c.statut > 0)
            lines = {
                str(r.rowid): (str(r.fk_facture), r.descr, _cents(r.total_ht))
                for r in conn.execute(sa.select(facdet).where(facdet.c.fk_facture.in_(posted)))
            }
        return {"partner": partners, "invoice": invoices, "invoice_line": lines}

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() for t in (soc, fac, facdet)}

    def dispose(self) -> None:
        self.engine.dispose()


# Overlay columns compared per entity, in the order of `TinyErp.expected()`.
OVERLAY_COLUMNS = {
    "partner": ("name", "kind"),
    "invoice": ("number", "partner_key", "date", "status", "kind", "amount_net"),
    "invoice_line": ("invoice_key", "description", "amount_net"),
}
REFERENCES = {"invoice": ("partner", "crm_partner"), "invoice_line": ("invoice", "crm_invoice")}
TABLES = {"partner": "crm_partner", "invoice": "crm_invoice", "invoice_line": "crm_invoice_line"}


@dataclass
class OverlayState:
    """One source's rows in the overlay, split into live and deleted-in-the-ERP."""

    live: Snapshot
    deleted: dict[str, set[str]]
    problems: list[str]  # duplicate keys, references pointing at the wrong row


def read_overlay(overlay_url: str, source: str = "erp") -> OverlayState:
    """Read the tiny entities back from an overlay database (no engine code involved)."""
    engine = sa.create_engine(overlay_url, poolclass=NullPool)
    live: Snapshot = {}
    deleted: dict[str, set[str]] = {}
    problems: list[str] = []
    try:
        with engine.connect() as conn:
            for entity, table in TABLES.items():
                columns = ", ".join(OVERLAY_COLUMNS[entity])
                rows = conn.execute(
                    sa.text(f"SELECT erp_key, erp_deleted_at, {columns} FROM {table} WHERE source = :s"), {"s": source}
                ).all()
                twice = [k for k, n in Counter(r[0] for r in rows).items() if n > 1]
                if twice:
                    problems.append(f"{entity}: keys held more than once: {twice[:10]}")
                live[entity] = {r[0]: _canonical(entity, r[2:]) for r in rows if r[1] is None}
                deleted[entity] = {r[0] for r in rows if r[1] is not None}
                if entity in REFERENCES:
                    ref, target = REFERENCES[entity]
                    wrong = conn.execute(
                        sa.text(
                            f"SELECT t.erp_key FROM {table} t LEFT JOIN {target} p ON p.id = t.{ref}_id "
                            f"WHERE t.source = :s AND t.erp_deleted_at IS NULL "
                            f"AND (p.id IS NULL OR p.erp_key <> t.{ref}_key OR p.source <> t.source)"
                        ),
                        {"s": source},
                    ).scalars().all()
                    if wrong:
                        problems.append(f"{entity}: {ref}_id missing or pointing at another row for keys {sorted(wrong)[:10]}")
    finally:
        engine.dispose()
    return OverlayState(live, deleted, problems)


def differences(expected: Snapshot, state: OverlayState, *, limit: int = 10) -> list[str]:
    """Human-readable differences between what the ERP holds and the overlay; empty when equal."""
    found = list(state.problems)
    for entity, want in expected.items():
        have = state.live.get(entity, {})
        missing = sorted(set(want) - set(have), key=_key_order)
        extra = sorted(set(have) - set(want), key=_key_order)
        changed = sorted((k for k in set(want) & set(have) if want[k] != have[k]), key=_key_order)
        if missing:
            found.append(f"{entity}: {len(missing)} ERP rows missing from the overlay, e.g. {missing[:limit]}")
        if extra:
            found.append(f"{entity}: {len(extra)} overlay rows the ERP no longer has (not marked deleted), e.g. {extra[:limit]}")
        for key in changed[:limit]:
            found.append(f"{entity} {key}: ERP {want[key]} != overlay {have[key]}")
        if len(changed) > limit:
            found.append(f"{entity}: {len(changed)} rows differ in all")
    return found


def _canonical(entity: str, values: Sequence[Any]) -> tuple[Any, ...]:
    if entity == "invoice":
        number, partner, day, status, kind, amount = values
        return (number, partner, _day(day), status, kind, _cents(amount))
    if entity == "invoice_line":
        invoice, description, amount = values
        return (invoice, description, _cents(amount))
    return tuple(values)


def _day(value: Any) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value)[:10])


def _cents(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(CENT)


def _key_order(key: str) -> tuple[int, str]:
    return (int(key), key) if key.isdigit() else (0, key)


def _chunks(items: Sequence[int], size: int = 500) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

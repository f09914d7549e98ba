"""The field registry: the only names a filter may use, and how each one becomes SQL.

The filter compiler knows no tables. Whoever owns some data about partners (the sync's
overlay, the metrics tables, tags, consent) registers fields and predicates here, each
with its kind and a function returning a SQLAlchemy expression about the partner under
test. That is the security boundary too: a name in a filter only selects one of these
functions, so no text from a filter ever becomes SQL text.

`default_registry()` holds what the overlay alone can answer (partner attributes, the
CRM profile, custom fields, purchases, quotes, complaints); the metrics, tags and
consent owners add theirs to it (see docs/filters.md, "Registering fields").
"""

from __future__ import annotations

import calendar
import difflib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from erp_crm.metrics.purchases import PURCHASES, Documents
from erp_crm.model.account_owner import effective_owner
from erp_crm.model.canonical import BY_NAME
from erp_crm.model.canonical import Kind as CanonicalKind
from erp_crm.model.tables.consent import CONSENT_CHANNELS, consent
from erp_crm.model.tables.profile import partner_profile
from erp_crm.model.tables.synced import SYNCED
from erp_crm.segments.language import NAME, RESERVED, YAML_KEYS, FilterError
from erp_crm.settings.metrics import PurchasesFrom

Kind = Literal["text", "number", "date", "bool", "choice"]
ParamKind = Literal["text", "number", "date", "period", "bool", "choice"]
KINDS: tuple[Kind, ...] = ("text", "number", "date", "bool", "choice")
PARAM_KINDS: tuple[ParamKind, ...] = ("text", "number", "date", "period", "bool", "choice")
Expr = sa.ColumnElement[Any]


@dataclass(frozen=True)
class Context:
    """What expressions are built against: the partner row under test and the filter's today."""

    partner: sa.FromClause
    today: date

    @property
    def partner_id(self) -> Expr:
        return self.partner.c.id


def shift(day: date, amount: int, unit: str) -> date:
    """`day` moved by whole days, weeks, months or years; months keep the day where they can."""
    try:
        if unit in ("day", "week"):
            return day + timedelta(days=amount * (7 if unit == "week" else 1))
        months = day.year * 12 + day.month - 1 + amount * (12 if unit == "year" else 1)
        year, month = divmod(months, 12)
        return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))
    except (OverflowError, ValueError):
        span = f"{abs(amount)} {unit}{'s' * (abs(amount) != 1)}"
        raise FilterError(f"{span} from {day} is outside the calendar") from None


def date_param(expr: Expr, day: date) -> Expr:
    """`day` bound with the type `expr` compares with: a date, a datetime at midnight, or ISO text."""
    if isinstance(expr.type, sa.DateTime):
        return sa.literal(datetime.combine(day, time()), sa.DateTime())
    if isinstance(expr.type, sa.String):
        return sa.literal(day.isoformat(), sa.Text())
    return sa.literal(day, sa.Date())


def on_or_after(expr: Expr, day: date) -> Expr:
    return expr >= date_param(expr, day)


def on_or_before(expr: Expr, day: date) -> Expr:
    """`expr < day + 1`: right for date columns and for datetime columns (any time that day)."""
    return expr < date_param(expr, shift(day, 1, "day"))


@dataclass(frozen=True)
class Window:
    """Days from `start` to `end`, both included: what a period argument hands a predicate."""

    start: date
    end: date

    def contains(self, expr: Expr) -> Expr:
        return sa.and_(on_or_after(expr, self.start), on_or_before(expr, self.end))


@dataclass(frozen=True)
class FieldDef:
    """A named value about a partner; `expression` is SQL over `Context.partner` (or a builder of it).

    The expression may be NULL (no metrics row, empty column); filters treat a comparison
    with NULL as false. Text fields must be text-typed in SQL, because they are folded.
    `tracked`: whoever changes the data the expression reads tells the partner change feed
    (`erp_crm.store.change_feed`) or stamps `crm_partner_profile.updated_at`, so a segment
    refresh may look only at the partners changed since the last one. Untracked fields
    make every refresh of their segments go over all partners.
    """

    name: str
    kind: Kind
    expression: Expr | Callable[[Context], Expr]
    choices: tuple[str, ...] = ()
    doc: str = ""
    tracked: bool = False

    def build(self, ctx: Context) -> Expr:
        return self.expression if isinstance(self.expression, sa.ColumnElement) else self.expression(ctx)


@dataclass(frozen=True)
class Param:
    """A predicate parameter. A period arrives as a Window; a missing optional one as None."""

    kind: ParamKind
    required: bool = False
    choices: tuple[str, ...] = ()
    doc: str = ""


@dataclass(frozen=True, eq=False)
class PredicateDef:
    """A parameterised question about a partner: `build(ctx, **arguments)` returns its SQL.

    `kind` is what the call yields: "bool" for a condition (must never be NULL: use EXISTS),
    "number" for a count that filters compare (`complaints(within: 180 days) >= 2`), and so on.
    Build may raise FilterError (say, for a missing pair of arguments); the call's place is added.
    """

    name: str
    params: Mapping[str, Param | ParamKind]
    build: Callable[..., Expr]
    doc: str = ""
    kind: Kind = "bool"
    choices: tuple[str, ...] = ()
    tracked: bool = False  # as FieldDef.tracked

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", {k: p if isinstance(p, Param) else Param(p) for k, p in self.params.items()})

    def param(self, name: str) -> Param:
        param = self.params[name]
        assert isinstance(param, Param)
        return param


Definition = FieldDef | PredicateDef


class FieldRegistry:
    """Fields and predicates by name (one namespace: both stand where a filter names something)."""

    def __init__(self, partner: sa.FromClause | None = None, items: tuple[Definition, ...] = ()) -> None:
        self.partner = partner if partner is not None else SYNCED["partner"]
        self._items: dict[str, Definition] = {}
        for item in items:
            self.add(item)

    def add(self, item: Definition, *, replace: bool = False) -> None:
        """Register `item`; names are lower-case identifiers that are not filter keywords."""
        name = item.name
        if not NAME.fullmatch(name) or name != name.casefold() or name in RESERVED | YAML_KEYS:
            raise ValueError(f"{name!r} cannot be a filter name: lower-case identifier, not a keyword")
        if item.kind not in KINDS or (item.kind == "choice") != bool(item.choices):
            raise ValueError(f"{name}: kind {item.kind!r}; choice kinds and only they list choices")
        if isinstance(item, PredicateDef):
            for pname, param in item.params.items():
                assert isinstance(param, Param)
                if param.kind not in PARAM_KINDS or not NAME.fullmatch(pname) or pname != pname.casefold():
                    raise ValueError(f"{name}: parameter {pname!r} of kind {param.kind!r}")
        if name in self._items and not replace:
            raise ValueError(f"{name} is registered already (pass replace=True to redefine it)")
        self._items[name] = item

    def get(self, name: str) -> Definition | None:
        return self._items.get(name)

    def suggest(self, name: str) -> str | None:
        """The registered name closest to a misspelt one, for "did you mean"."""
        return next(iter(difflib.get_close_matches(name, self._items, 1, 0.6)), None)

    def __iter__(self) -> Iterator[Definition]:
        return iter(sorted(self._items.values(), key=lambda d: d.name))

    def __contains__(self, name: object) -> bool:
        return name in self._items


# ---------------------------------------------------------------- folding text

_FOLD_FROM = "ABCDEFGHIJKLMNOPQRSTUVWXYZÁÉÍÓÖŐÚÜŰáéíóöőúüű"
_FOLD_TO = "abcdefghijklmnopqrstuvwxyzaeiooouuuaeiooouuu"
_FOLD = str.maketrans(_FOLD_FROM, _FOLD_TO)


def fold_text(text: str) -> str:
    """What `fold` makes of text in SQL, done in Python to a filter's value."""
    return text.translate(_FOLD)


class fold(FunctionElement[str]):
    """Text without case and Hungarian accents, alike in SQLite and PostgreSQL whatever the locale.

    SQLite's lower() folds ASCII only and PostgreSQL's follows the database's collation,
    so both get an explicit table: ASCII letters lowered, Hungarian vowels unaccented.
    """

    type = sa.Text()
    name = "fold"
    inherit_cache = True


@compiles(fold)
def _fold_by_replace(element: fold, compiler: SQLCompiler, **kw: Any) -> str:
    sql = f"lower({compiler.process(element.clauses, **kw)})"
    for accented, plain in zip(_FOLD_FROM[26:], _FOLD_TO[26:]):
        sql = f"replace({sql}, '{accented}', '{plain}')"
    return sql


@compiles(fold, "postgresql")
def _fold_by_translate(element: fold, compiler: SQLCompiler, **kw: Any) -> str:
    return f"translate({compiler.process(element.clauses, **kw)}, '{_FOLD_FROM}', '{_FOLD_TO}')"


class per_database(FunctionElement[bool]):
    """Two equivalent conditions: the first for SQLite, the second for the other databases (PostgreSQL).

    Some questions must be put differently to each database to be answered fast; the
    callers say why (`text_equals`, `_documents`).
    """

    type = sa.Boolean()
    name = "per_database"
    inherit_cache = True


@compiles(per_database)
def _general_form(element: per_database, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses.clauses[1], **kw)


@compiles(per_database, "sqlite")
def _sqlite_form(element: per_database, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.clauses.clauses[0], **kw)


# fold() is 19 nested calls on SQLite, and SQLite parses about 30 at most in one statement;
# GLOB compares in one operator, against classes of the characters that fold alike.
_FOLDS_TO = {plain: "".join(c for c, p in zip(_FOLD_FROM, _FOLD_TO) if p == plain) + plain for plain in set(_FOLD_TO)}
_GLOB_SPECIAL = set("*?[")
# SQLite refuses GLOB patterns over 50,000 bytes, and a character's class takes up to 16 (o, ó, ö, ő in both cases)
MAX_COMPARED_TEXT = 3_000


def _glob_class(char: str) -> str:
    alike = _FOLDS_TO.get(char)
    if alike is not None:
        return f"[{alike}]"
    return f"[{char}]" if char in _GLOB_SPECIAL else char


def glob_pattern(value: str) -> str:
    """The GLOB pattern that matches exactly the texts whose fold is `value`'s fold."""
    return "".join(_glob_class(c) for c in fold_text(value))


def text_equals(expr: Expr, value: str) -> Expr:
    """The filters' text equality (case and accents ignored), for predicate builders.

    On SQLite a GLOB of character classes (`[aAáÁ]…`): as cheap as a plain comparison,
    and flat, so a predicate can sit deep in a filter without outgrowing SQLite's parser
    stack. Longer text than a GLOB pattern holds is refused on every database alike, so
    that the SQL of a filter never depends on its values.
    """
    if len(value) > MAX_COMPARED_TEXT:
        raise FilterError(f"{len(value):,} characters of text are too many to compare: at most {MAX_COMPARED_TEXT:,}")
    general = fold(expr) == sa.literal(fold_text(value), sa.Text())
    return per_database(expr.op("GLOB", is_comparison=True)(sa.literal(glob_pattern(value), sa.Text())), general)


# ---------------------------------------------------------------- builders


def partner_column(name: str) -> Callable[[Context], Expr]:
    """A column of the partner row under test."""
    return lambda ctx: ctx.partner.c[name]


def per_partner(value: sa.ColumnElement[Any], key: sa.ColumnElement[Any] | None = None) -> Callable[[Context], Expr]:
    """A value from a table with one row per partner (metrics, profile), as a correlated subquery.

    `key` is that table's partner id column; by default `partner_id` of `value`'s table.
    """
    match = key if key is not None else value.table.c.partner_id
    return lambda ctx: sa.select(value).where(match == ctx.partner_id).scalar_subquery()


_KIND_OF: dict[CanonicalKind, Kind] = {
    CanonicalKind.TEXT: "text",
    CanonicalKind.INT: "number",
    CanonicalKind.DECIMAL: "number",
    CanonicalKind.BOOL: "bool",
    CanonicalKind.DATE: "date",
    CanonicalKind.DATETIME: "date",
}


def _overlay_fields(custom: Mapping[str, Kind]) -> Iterator[FieldDef]:
    """Every canonical partner field, the CRM profile (its values win) and the custom fields."""
    partner = BY_NAME["partner"]
    profile = {c.name: c for c in partner_profile.c if c.name not in ("partner_id", "custom", "updated_at")}
    for f in partner.fields:
        if f.ref is None and f.name not in profile:
            kind = "choice" if f.choices else _KIND_OF[f.kind]
            yield FieldDef(f.name, kind, partner_column(f.name), f.choices, f.doc, tracked=True)
    for name, col in profile.items():
        numeric = isinstance(col.type, sa.Numeric | sa.Integer)
        kind = "bool" if isinstance(col.type, sa.Boolean) else "number" if numeric else "text"
        doc = col.comment or f"CRM profile: {name}"
        yield FieldDef(name, kind, _profile_first(col, name in partner.by_name), doc=doc, tracked=True)
    user = SYNCED["user"]
    yield FieldDef(
        "salesperson",
        "text",
        lambda ctx: sa.select(user.c.name).where(user.c.id == ctx.partner.c.salesperson_id).scalar_subquery(),
        doc="name of the partner's salesperson in the ERP",
        tracked=True,  # a changed user tells the feed that anyone may have changed
    )
    yield FieldDef(
        "owner",
        "text",
        lambda ctx: effective_owner(ctx.partner, "login"),
        doc="login of the account's owner: the CRM's while that user is active, else the ERP's salesperson",
        tracked=True,  # a change of owner tells the feed (erp_crm.automation.owners)
    )
    as_kind = {"text": "as_string", "number": "as_float", "bool": "as_boolean", "date": "as_string"}
    for name, kind in custom.items():
        if kind not in as_kind:
            raise ValueError(f"custom field {name}: kind {kind!r} (one of {', '.join(as_kind)})")
        value = getattr(partner_profile.c.custom[name], as_kind[kind])()
        yield FieldDef(f"custom.{name}", kind, per_partner(value, partner_profile.c.partner_id), doc=f"custom: {name}", tracked=True)


def _profile_first(column: sa.Column[Any], synced_too: bool) -> Callable[[Context], Expr]:
    """The profile's value; where the ERP has the same field, the ERP's when the profile has none."""
    own = per_partner(column)
    if not synced_too:
        return own
    return lambda ctx: sa.func.coalesce(own(ctx), ctx.partner.c[column.name])


Goods = dict[str, str | None]  # product (code or name) and category, as given to a predicate


def _documents(ctx: Context, doc: sa.Table, counts: Expr, goods: Goods, within: Window | None) -> Expr:
    """A live document of the partner in the window (with a line of those goods, if named); never NULL.

    With goods, SQLite would run a correlated subquery once per partner, walking every
    document and line of every partner, and never turns it into a join: it is asked for
    the partners once (`partner.id IN (…)`). PostgreSQL plans the correlated EXISTS as one
    (anti-)join, but `NOT (… IN …)` over more buyers than its work memory holds as a scan
    of them per partner, so it keeps the EXISTS. The goods are looked up once either way.
    """
    where = [doc.c.erp_deleted_at.is_(None), counts, _in(within, ctx, doc.c.date)]
    products = _products(goods)
    if products is None:  # the partner's documents by date, through their index: its first one answers
        return sa.exists().where(doc.c.partner_id == ctx.partner_id, *where)
    entity = doc.name.removeprefix("crm_")
    lines = SYNCED[f"{entity}_line"]
    where += [lines.c[f"{entity}_id"] == doc.c.id, lines.c.erp_deleted_at.is_(None), lines.c.product_id.in_(products)]
    buyers = sa.select(doc.c.partner_id).where(doc.c.partner_id.is_not(None), *where)  # no NULL: NOT IN stays true or false
    return per_database(ctx.partner_id.in_(buyers), sa.exists().where(doc.c.partner_id == ctx.partner_id, *where))


def _products(goods: Goods) -> sa.Select[tuple[int]] | None:
    """The ids of the products named by code or name and by category (a subquery run once, not a test per line); None: none named."""
    product, category = goods.get("product"), goods.get("category")
    if product is None and category is None:
        return None
    item = SYNCED["product"]
    query = sa.select(item.c.id)
    if product is not None:
        query = query.where(sa.or_(item.c.code == sa.literal(product, sa.Text()), text_equals(item.c.name, product)))
    if category is not None:
        query = query.where(text_equals(item.c.category, category))
    return query


def _in(within: Window | None, ctx: Context, expr: Expr) -> Expr:
    """In the window, or without one up to today: future-dated rows have not happened yet."""
    return within.contains(expr) if within is not None else on_or_before(expr, ctx.today)


def _not_in(column: Expr, values: tuple[str, ...]) -> Expr:
    return sa.or_(column.is_(None), column.not_in(values))


def _bought_from(documents: Documents) -> Callable[..., Expr]:
    """`bought` over the purchase documents: neither drafts nor cancelled, nor credit notes among invoices."""
    doc = documents.table
    counts = _not_in(doc.c.status, ("draft", "cancelled"))
    if documents.credit_notes:
        counts = sa.and_(counts, _not_in(doc.c.kind, ("credit_note",)))

    def bought(ctx: Context, within: Window | None = None, **goods: str | None) -> Expr:
        return _documents(ctx, doc, counts, goods, within)

    return bought


def _quoted(ctx: Context, within: Window | None = None, **goods: str | None) -> Expr:
    quote = SYNCED["quote"]
    return _documents(ctx, quote, _not_in(quote.c.status, ("cancelled",)), goods, within)


def _open_quote(ctx: Context, **goods: str | None) -> Expr:
    quote = SYNCED["quote"]
    still_valid = sa.or_(quote.c.valid_until.is_(None), on_or_after(quote.c.valid_until, ctx.today))
    return _documents(ctx, quote, sa.and_(quote.c.status.in_(("draft", "sent")), still_valid), goods, None)


def _complaints(ctx: Context, within: Window | None = None) -> Expr:
    ticket = SYNCED["ticket"]
    return (
        sa.select(sa.func.count())
        .where(ticket.c.partner_id == ctx.partner_id, ticket.c.erp_deleted_at.is_(None))
        .where(ticket.c.category == sa.literal("complaint", sa.Text()))
        .where(_in(within, ctx, ticket.c.opened_at))
        .scalar_subquery()
    )


def _newest_consent(ctx: Context, channel: str | None, status: str) -> Expr:
    """The partner's newest consent row on the channel has `status` (rows are kept; the newest counts)."""
    c, newer = consent.c, consent.alias("newer_consent")
    on_channel = c.channel == sa.literal(channel, sa.Text())
    later = sa.exists().where(newer.c.partner_id == c.partner_id, newer.c.channel == c.channel, newer.c.id > c.id)
    return sa.exists().where(c.partner_id == ctx.partner_id, on_channel, c.status == status, ~later)


def _consented(ctx: Context, channel: str | None = None) -> Expr:
    return _newest_consent(ctx, channel, "opt_in")


def _unsubscribed(ctx: Context, channel: str | None = None) -> Expr:
    return _newest_consent(ctx, channel, "opt_out")


_GOODS = {"product": Param("text", doc="product code or name"), "category": Param("text", doc="product category")}
_BOUGHT_DOCS: dict[PurchasesFrom, str] = {"invoices": "invoiced, not credited or cancelled", "orders": "ordered, not cancelled"}
_PREDICATES = (
    PredicateDef("quoted", {**_GOODS, "within": "period"}, _quoted, "offered in a quote that was not cancelled", tracked=True),
    PredicateDef("has_open_quote", _GOODS, _open_quote, "a draft or sent quote not yet past its validity", tracked=True),
    PredicateDef("complaints", {"within": "period"}, _complaints, "complaint tickets opened", kind="number", tracked=True),
    PredicateDef("consent", {"channel": Param("choice", True, CONSENT_CHANNELS)}, _consented, "opted in to the channel, and not out since"),
    PredicateDef("unsubscribed", {"channel": Param("choice", True, CONSENT_CHANNELS)}, _unsubscribed, "opted out of the channel, and not in since"),
)


def default_registry(custom: Mapping[str, Kind] | None = None, purchases_from: PurchasesFrom = "invoices") -> FieldRegistry:
    """Fields the overlay alone answers; `custom` names the profile's custom fields and kinds, `purchases_from` what `bought` reads."""
    bought = _bought_from(PURCHASES[purchases_from])
    predicates = (PredicateDef("bought", {**_GOODS, "within": "period"}, bought, _BOUGHT_DOCS[purchases_from], tracked=True), *_PREDICATES)
    return FieldRegistry(items=(*_overlay_fields(custom or {}), *predicates))


__all__ = [
    "Context",
    "FieldDef",
    "FieldRegistry",
    "Param",
    "PredicateDef",
    "Window",
    "date_param",
    "default_registry",
    "fold",
    "fold_text",
    "glob_pattern",
    "on_or_after",
    "on_or_before",
    "per_partner",
    "shift",
    "text_equals",
]

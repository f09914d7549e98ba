"""Trigger occurrences: the text on an enrolment that names what enrolled the partner.

An enrolment is unique per (chain version, partner, occurrence), and the ERP-record
triggers also refuse an occurrence the chain already had in any version, so the
occurrence is what makes a record start a chain once, ever. It therefore names the
record itself (`invoice:42`, not "an invoice fell due today"), and the template's
`trigger` fields, the `trigger_settled` word and the birthday's recipient are all read
back from it. The forms:

| trigger | occurrence |
|---|---|
| entered / left | `segment-event:<crm_segment_event id>` |
| by hand | `manual:<day>` (and `dry-run` in a dry run) |
| invoice_overdue | `invoice:<crm_invoice id>` |
| quote_not_ordered | `quote:<crm_quote id>` |
| complaint_closed | `ticket:<crm_ticket id>` |
| purchase | `purchase:invoice:<id>` or `purchase:order:<id>` |
| first_purchase | `first_purchase:invoice:<id>` or `first_purchase:order:<id>` |
| birthday | `birthday:<crm_contact id>:<year>` |
| first_purchase_anniversary | `anniversary:<year>` |
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The occurrences that name one synced document: prefix → (trigger kind, entity).
DOCUMENT_PREFIXES: dict[str, tuple[str, str]] = {
    "invoice:": ("invoice_overdue", "invoice"),
    "quote:": ("quote_not_ordered", "quote"),
    "ticket:": ("complaint_closed", "ticket"),
    "purchase:invoice:": ("purchase", "invoice"),
    "purchase:order:": ("purchase", "order"),
    "first_purchase:invoice:": ("first_purchase", "invoice"),
    "first_purchase:order:": ("first_purchase", "order"),
}
_KIND_PREFIX = {"invoice_overdue": "invoice:", "quote_not_ordered": "quote:", "complaint_closed": "ticket:"}
_ID = r"([0-9]{1,18})"
_FORMS = (
    ("segment", re.compile(rf"segment-event:{_ID}")),
    ("birthday", re.compile(rf"birthday:{_ID}:([0-9]{{4}})")),
    ("first_purchase_anniversary", re.compile(r"anniversary:([0-9]{4})")),
)


@dataclass(frozen=True)
class Occurrence:
    """An occurrence read back: its trigger kind and the ids and year it names (None where it names none)."""

    kind: str  # segment, manual, or a record trigger's kind (chain_definition.EVENTS, DATES)
    entity: str | None = None  # the synced entity of a document occurrence
    record_id: int | None = None  # that document's id, or the segment event's
    contact_id: int | None = None
    year: int | None = None


def document_prefix(kind: str, entity: str) -> str:
    """The prefix of a document occurrence for the trigger `kind` on `entity` rows; the row's id follows it."""
    return _KIND_PREFIX.get(kind, f"{kind}:{entity}:")


def birthday(contact_id: int, year: int) -> str:
    return f"birthday:{contact_id}:{year:04d}"


def anniversary(year: int) -> str:
    return f"anniversary:{year:04d}"


def parse_occurrence(occurrence: str) -> Occurrence:
    """What `occurrence` names; one the chains did not write (or a manual one) reads as `manual`."""
    for prefix, (kind, entity) in DOCUMENT_PREFIXES.items():
        rest = occurrence.removeprefix(prefix)
        if rest != occurrence and re.fullmatch(_ID, rest):
            return Occurrence(kind, entity, int(rest))
    for kind, form in _FORMS:
        found = form.fullmatch(occurrence)
        if found is None:
            continue
        if kind == "segment":
            return Occurrence(kind, record_id=int(found.group(1)))
        if kind == "birthday":
            return Occurrence(kind, contact_id=int(found.group(1)), year=int(found.group(2)))
        return Occurrence(kind, year=int(found.group(1)))
    return Occurrence("manual")


def occurrence_contact(occurrence: str) -> int | None:
    """The contact an occurrence is about (a birthday's), to whom its messages go; None: the partner's."""
    return parse_occurrence(occurrence).contact_id

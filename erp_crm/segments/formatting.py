"""The AST written back as text: filters are stored in the text form, whatever form they arrived in."""

from __future__ import annotations

from erp_crm.segments.syntax import (
    NAME,
    RESERVED,
    WORDS,
    Ago,
    And,
    Bool,
    Condition,
    Day,
    Node,
    Not,
    Number,
    Or,
    Period,
    Ref,
    Text,
    Value,
)


def format_filter(node: Node) -> str:
    """The text form of an AST; parsing it gives the same AST back."""
    return _fmt(node, 0)


def _fmt(node: Node, outer: int) -> str:
    """`outer`: 0 top level or inside or, 1 inside and, 2 inside not."""
    if isinstance(node, Or | And):
        level, joiner = (0, " or ") if isinstance(node, Or) else (1, " and ")
        text = joiner.join(_fmt(item, level + 1) for item in node.items)
        return f"({text})" if outer > level else text
    if isinstance(node, Not):
        item = node.item
        if isinstance(item, Condition) and item.op in _NEGATED_SPELLING:
            return _fmt_condition(item, _NEGATED_SPELLING[item.op])
        return f"not {_fmt(item, 2)}"
    return _fmt_condition(node, node.op)


# how `not (x op …)` reads best; the parser turns each back into exactly that
_NEGATED_SPELLING = {"=": "!=", "is null": "is not null"}
_NEGATED_SPELLING |= {op: f"not {op}" for op in WORDS.values() if op.isalpha() or " " in op}


def _fmt_condition(node: Condition, spelling: str) -> str:
    subject = _fmt_ref(node.subject)
    values = [format_value(v) for v in node.values]
    if node.op == "true":
        return subject
    if node.op == "is null":
        return f"{subject} {spelling}"
    if node.op == "between":
        return f"{subject} {spelling} {values[0]} and {values[1]}"
    if node.op == "in":
        return f"{subject} {spelling} ({', '.join(values)})"
    return f"{subject} {spelling} {values[0]}"


def _fmt_ref(ref: Ref) -> str:
    if not ref.args:
        return ref.name
    args = ", ".join((f"{a.name}: " if a.name else "") + format_value(a.value) for a in ref.args)
    return f"{ref.name}({args})"


def format_value(value: Value) -> str:
    """A value as the text form writes it."""
    if isinstance(value, Text):
        if value.bare and NAME.fullmatch(value.value) and value.value.casefold() not in RESERVED:
            return value.value
        escaped = value.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
        return f'"{escaped}"'
    if isinstance(value, Number):
        return format(value.value, "f")
    if isinstance(value, Day):
        return value.value.isoformat()
    if isinstance(value, Ago | Period):
        text = f"{value.amount} {value.unit}{'' if value.amount == 1 else 's'}"
        return f"{text} ago" if isinstance(value, Ago) else text
    if isinstance(value, Bool):
        return "true" if value.value else "false"
    return "today"

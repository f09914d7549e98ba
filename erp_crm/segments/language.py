"""The segment filter language: a text form and a YAML form, parsed into one small AST.

Admins type filters into config files and panels, so what arrives here is untrusted
text that will end up in SQL. This module therefore only turns text into plain data
(the frozen dataclasses below) and produces no SQL at all: the compiler looks every
name up in the field registry and binds every value as a parameter. Every mistake is a
FilterError that says where it is: line and column in the text form, the key path in
the YAML form. The grammar is in docs/filters.md.

This module is the language's public face; the parts live beside it: `syntax` (the AST,
positions, errors, word tables), `tokens`, `text_form`, `yaml_form` and `formatting`.
"""

from erp_crm.segments.formatting import format_filter, format_value
from erp_crm.segments.syntax import (
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_LENGTH,
    NAME,
    OPS,
    RESERVED,
    UNITS,
    YAML_KEYS,
    Ago,
    And,
    Arg,
    Bool,
    Condition,
    Day,
    FilterError,
    Node,
    Not,
    Number,
    Or,
    Path,
    Period,
    Ref,
    Text,
    Today,
    Value,
    Where,
)
from erp_crm.segments.text_form import parse_text
from erp_crm.segments.tokens import Token, check_characters, tokenize
from erp_crm.segments.yaml_form import parse_data, parse_filter, yaml_value

__all__ = [
    "MAX_CONDITIONS", "MAX_DEPTH", "MAX_LENGTH", "NAME", "OPS", "RESERVED", "UNITS", "YAML_KEYS",
    "Ago", "And", "Arg", "Bool", "Condition", "Day", "FilterError", "Node", "Not", "Number", "Or",
    "Path", "Period", "Ref", "Text", "Today", "Token", "Value", "Where",
    "check_characters", "format_filter", "format_value", "parse_data", "parse_filter", "parse_text",
    "tokenize", "yaml_value",
]

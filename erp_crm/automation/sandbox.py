"""Jinja2 for texts that admins edit: only the fields given, only listed filters, and nothing that reaches Python.

Message templates are edited by people who are not developers, in files that anyone with
access to the home can change, and they are rendered for every customer a chain reaches.
Jinja2's own sandbox stops the well-known escapes (`__class__`, `__globals__`,
`str.format`), and this one goes further, because a message needs none of what it allows:

- **No attribute of any Python object** but a loop's counters (`loop.index`, `loop.last`).
  A template reads fields by name from the mappings it is given (`partner.name` is `partner["name"]`); `partner.items`,
  `"".__class__`, `self._TemplateReference__context`, `cycler.__init__.__globals__`
  are all undefined, and an undefined value stops the rendering with its name.
- **No globals** (`range`, `lipsum`, `cycler`, `joiner`, `namespace`, `dict`), **no
  calls** (nothing a template can reach is callable), **listed filters only** (`attr`,
  `format`, `map`, `tojson` and the like are unknown), and no `include`, `import` or
  `extends` (there is no loader).
- **Bounded output.** `*` and `**` are checked (`"x" * 10**9` would fill the memory) and
  the whole text is limited in size, so one template cannot stop a dispatcher.
- **HTML autoescaped** where the output is HTML: a customer's name holding `<script>`
  arrives as text.

Every mistake is a `TemplateProblem` naming the line and what is wrong in words.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.runtime import LoopContext
from jinja2.sandbox import SandboxedEnvironment

from erp_crm.i18n import formatting as fmt

MAX_OUTPUT = 200_000  # characters a rendered text may have: far beyond any message
MAX_SEQUENCE = 10_000  # characters (or items) that `*` may build
MAX_POWER = 1_000_000  # the largest result `**` may give


class TemplateProblem(Exception):
    """A template that cannot be compiled or rendered; `line` is its line in the text (None: not known)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message, self.line = message, line


def _number(value: Any, locale: str = "hu", decimals: int = 0) -> str:
    return fmt.number(float(value), locale, int(decimals))


def _huf(value: Any, locale: str = "hu") -> str:
    return fmt.huf(float(value), locale)


# The filters a message may use: Jinja2's harmless ones, and the project's number formats.
_BUILTIN_FILTERS = (
    "capitalize", "center", "default", "d", "e", "escape", "first", "float", "int", "join", "last", "length",
    "lower", "replace", "round", "string", "striptags", "title", "trim", "truncate", "upper", "wordcount", "wordwrap",
)  # fmt: skip
_OWN_FILTERS: dict[str, Callable[..., str]] = {"number": _number, "huf": _huf}


_LOOP_FIELDS = frozenset({"index", "index0", "revindex", "revindex0", "first", "last", "length", "depth", "depth0", "previtem", "nextitem"})


class _MessageSandbox(SandboxedEnvironment):
    """The sandbox with the restrictions of the module docstring."""

    intercepted_binops = frozenset(["*", "**"])

    def __init__(self, *, html: bool) -> None:
        super().__init__(autoescape=html, undefined=jinja2.StrictUndefined, loader=None, auto_reload=False)
        self.globals.clear()
        self.filters = {name: self.filters[name] for name in _BUILTIN_FILTERS} | dict(_OWN_FILTERS)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # fields are read from the given mappings by key; of Python objects only a loop's counters are reachable
        return isinstance(obj, LoopContext) and attr in _LOOP_FIELDS

    def is_safe_callable(self, obj: Any) -> bool:
        return False

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        return _checked_power(left, right) if operator_name == "**" else _checked_product(left, right)


def _checked_product(left: Any, right: Any) -> Any:
    for sequence, count in ((left, right), (right, left)):
        if isinstance(sequence, str | list | tuple) and isinstance(count, int) and len(sequence) * max(count, 0) > MAX_SEQUENCE:
            raise jinja2.exceptions.SecurityError(f"a repeated text or list longer than {MAX_SEQUENCE:,}")
    return operator.mul(left, right)


def _checked_power(left: Any, right: Any) -> Any:
    if isinstance(left, int | float) and isinstance(right, int | float):
        magnitude = abs(float(right)) * math.log10(max(abs(float(left)), 1.0))
        if magnitude > math.log10(MAX_POWER):
            raise jinja2.exceptions.SecurityError(f"a power above {MAX_POWER:,}")
    return operator.pow(left, right)


_TEXT, _HTML = _MessageSandbox(html=False), _MessageSandbox(html=True)


def compile_text(source: str, *, html: bool = False) -> jinja2.Template:
    """The template of `source`; a `TemplateProblem` at its line when it is not one a message may use."""
    environment = _HTML if html else _TEXT
    try:
        tree = environment.parse(source)
        for node in tree.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
            raise TemplateProblem("templates cannot include, import or extend other templates here", node.lineno)
        return environment.from_string(tree)  # compiling finds unknown filters and tests
    except jinja2.TemplateSyntaxError as error:  # TemplateAssertionError (an unknown filter) among them
        raise TemplateProblem(_syntax(error), error.lineno) from None


def render_text(template: jinja2.Template, context: Mapping[str, Any]) -> str:
    """`template` rendered with `context` (mappings of fields by name); a `TemplateProblem` naming the line and the field when it cannot be."""
    try:
        text = template.render(dict(context))
    except jinja2.exceptions.SecurityError as error:
        raise TemplateProblem(_refused(str(error)), _line(error)) from None
    except jinja2.UndefinedError as error:  # the sandbox's refusals of attributes arrive as undefined values
        message = str(error)
        raise TemplateProblem(_refused(message) if "is unsafe" in message else _undefined(message), _line(error)) from None
    except (TypeError, ValueError, ArithmeticError, LookupError) as error:
        raise TemplateProblem(f"cannot be rendered: {error}", _line(error)) from None
    if len(text) > MAX_OUTPUT:
        raise TemplateProblem(f"renders to {len(text):,} characters, more than the {MAX_OUTPUT:,} a message may have")
    return str(text)


def _syntax(error: jinja2.TemplateSyntaxError) -> str:
    message = error.message or "invalid template syntax"
    if "No filter named" in message:
        allowed = ", ".join(sorted([*_BUILTIN_FILTERS, *_OWN_FILTERS]))
        return f"{message.rstrip('.')}; the filters a message may use: {allowed}"
    return message


def _undefined(message: str) -> str:
    """Jinja2's words for a missing field, in ours."""
    field = re.search(r"has no attribute '([^']*)'", message) or re.search(r"'([^']*)' is undefined", message)
    return f"unknown field {field.group(1)!r}" if field else f"unknown field or value: {message}"


def _refused(message: str) -> str:
    """Jinja2's words for what the sandbox refused, in ours."""
    if "not safely callable" in message:
        return "not allowed in a message: calling a function or method"
    attribute = re.search(r"access to attribute '([^']*)'", message)
    if attribute:
        return f"not allowed in a message: reading {attribute.group(1)!r} (a message reads fields by name only)"
    return f"not allowed in a message: {message}"


def _line(error: BaseException) -> int | None:
    """The template line the error was raised at, from the traceback Jinja2 rewrites to point into the template."""
    line = None
    tb = error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line

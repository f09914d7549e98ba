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

import datetime as dt
import functools
import math
import operator
import re
import sys
from collections.abc import Callable, Mapping
from decimal import Decimal
from types import FrameType
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.runtime import LoopContext
from jinja2.sandbox import SandboxedEnvironment

from erp_crm.automation.sms_text import to_gsm7
from erp_crm.errors import UserError
from erp_crm.i18n import LOCALES
from erp_crm.i18n import formatting as fmt

MAX_OUTPUT = 200_000  # characters a rendered text may have: far beyond any message
MAX_SEQUENCE = 10_000  # characters (or items) that `*` may build
MAX_POWER = 1_000_000  # the largest result `**` may give


class TemplateProblem(Exception):
    """A template that cannot be compiled or rendered; `line` is its line in the text (None: not known)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message, self.line = message, line


MAX_STEPS = 200_000  # template lines run per rendering: a message needs hundreds; nested loops over long texts need billions
MAX_INT_BITS = 128  # whole numbers a product or sum may reach: far beyond any amount, far below a number that fills the memory
MAX_DECIMALS = 6


def _refuse(message: str) -> jinja2.exceptions.SecurityError:
    return jinja2.exceptions.SecurityError(message)


def _amount(value: Any) -> float:
    try:
        if isinstance(value, bool):
            raise TypeError
        number = float(value)
    except (TypeError, ValueError):
        raise _refuse(f"{str(value)[:40]!r} is not a number, and number, huf and money format numbers") from None
    if not math.isfinite(number) or abs(number) >= 1e15:
        raise _refuse(f"{value!r} is not an amount the number formats show")
    return number


def _locale(locale: Any) -> str:
    if locale not in LOCALES:
        raise _refuse(f"the language {locale!r} is not one of {', '.join(LOCALES)}")
    return str(locale)


def _number(value: Any, locale: str = "hu", decimals: int = 0) -> str:
    if value is None:  # an empty field prints nothing, formatted or not: a template renders without its record (a preview)
        return ""
    if not isinstance(decimals, int) or not 0 <= decimals <= MAX_DECIMALS:
        raise _refuse(f"number: decimals from 0 to {MAX_DECIMALS}, not {decimals!r}")
    return fmt.number(_amount(value), _locale(locale), decimals)


def _huf(value: Any, locale: str = "hu") -> str:
    if value is None:
        return ""
    return fmt.huf(_amount(value), _locale(locale))


def _money(value: Any, currency: Any = "HUF", locale: str = "hu") -> str:
    """An amount in its currency; nothing for an empty amount (a preview without the invoice), so a template need not test for it."""
    if value is None:
        return ""
    code = currency.upper() if isinstance(currency, str) else currency
    if not isinstance(code, str) or not re.fullmatch(r"[A-Z]{3}", code):
        raise _refuse(f"money: {str(currency)[:40]!r} is not a currency code (ISO 4217, such as HUF or EUR)")
    amount = _amount(value)
    exact = value if isinstance(value, int | Decimal) else Decimal(repr(amount))
    try:
        return fmt.money(exact, code, _locale(locale))
    except UserError as error:
        raise _refuse(f"money: {error}") from None


def _day(value: Any, locale: str = "hu") -> str:
    """A date as a letter writes it; nothing for an empty one. A date, a time stamp, or a date written YYYY-MM-DD (as SQLite hands it back)."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            raise _refuse(f"day: {value[:40]!r} is not a date (YYYY-MM-DD)") from None
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        raise _refuse(f"day: {str(value)[:40]!r} is not a date")
    return fmt.long_day(value, _locale(locale))


def _bounded(name: str, filter_: Callable[..., Any], size: Callable[..., int]) -> Callable[..., Any]:
    """`filter_`, refused when `size` (of its arguments) says its result would pass MAX_OUTPUT, before it is built.

    Jinja2 hands some filters its environment or evaluation context first (`join`, `replace`,
    `wordwrap`): the marker that asks for it is kept on the wrapper, and `size` sees the
    template's own arguments only.
    """
    passed_first = getattr(filter_, "jinja_pass_arg", None) is not None

    @functools.wraps(filter_)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if size(*args[passed_first:], **kwargs) > MAX_OUTPUT:
            raise _refuse(f"{name} would make a text longer than {MAX_OUTPUT:,} characters")
        return filter_(*args, **kwargs)

    return checked


def _printable(value: Any) -> Any:
    """`value` if a message may print it; a record, a list or a loop is refused (it would print Python's view of it)."""
    if isinstance(value, Mapping | list | tuple | set | LoopContext | complex):
        raise _refuse("a whole record or list cannot be printed; name a field")
    return value


def _string(value: Any) -> str:
    return str(_printable(value))


def _gsm7(value: Any) -> str:
    """The text with the Hungarian letters GSM-7 lacks written without accents, so a text message stays in 160-character segments."""
    return to_gsm7("" if value is None else str(_printable(value)))


def _finalize(value: Any) -> Any:
    """What a `{{ }}` prints: an empty field prints nothing, the rest as `_printable` allows."""
    return "" if value is None else _printable(value)


# The filters a message may use: Jinja2's harmless ones (those that can grow a text, bounded), and the project's number formats.
_BUILTIN_FILTERS = (
    "capitalize", "center", "default", "d", "e", "escape", "first", "float", "int", "join", "last", "length",
    "lower", "replace", "round", "string", "striptags", "title", "trim", "truncate", "upper", "wordcount", "wordwrap",
)  # fmt: skip
_GROWING: dict[str, Callable[..., int]] = {
    "center": lambda value, width=80: max(len(str(value)), int(width)),
    "join": lambda value, d="", attribute=None: (
        sum(len(_string(v) if attribute is None else "") + len(str(d)) for v in value) if isinstance(value, list | tuple | str) else 0
    ),
    "replace": lambda value, old, new, count=None: (
        len(str(value)) + str(value).count(str(old)) * len(str(new)) if str(old) else len(str(value)) * (len(str(new)) + 1)
    ),
    "wordwrap": lambda value, width=79, *args, **kwargs: len(str(value)) * 2,
}
_OWN_FILTERS: dict[str, Callable[..., str]] = {"number": _number, "huf": _huf, "money": _money, "day": _day, "string": _string, "gsm7": _gsm7}
_TESTS = ("defined", "undefined", "none", "number", "integer", "float", "string", "boolean", "true", "false", "even", "odd", "divisibleby",
          "eq", "ne", "lt", "le", "gt", "ge", "==", "!=", "<", "<=", ">", ">=", "in", "lower", "upper")  # fmt: skip
_REFUSED_NODES: tuple[tuple[type[nodes.Node] | tuple[type[nodes.Node], ...], str], ...] = (
    ((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends), "templates cannot include, import or extend other templates here"),
    ((nodes.Assign, nodes.AssignBlock), "{% set %} is not available in a message: write the value where it is used"),
    ((nodes.Macro, nodes.CallBlock), "macros are not available in a message"),
    ((nodes.EvalContextModifier,), "{% autoescape %} cannot be changed in a message"),
)
_LOOP_FIELDS = frozenset({"index", "index0", "revindex", "revindex0", "first", "last", "length", "depth", "depth0", "previtem", "nextitem"})


class _MessageSandbox(SandboxedEnvironment):
    """The sandbox with the restrictions of the module docstring."""

    intercepted_binops = frozenset(["+", "*", "**", "%"])

    def __init__(self, *, html: bool) -> None:
        super().__init__(autoescape=html, undefined=jinja2.StrictUndefined, loader=None, auto_reload=False, finalize=_finalize)
        self.globals.clear()
        builtin = {name: _bounded(name, self.filters[name], _GROWING[name]) if name in _GROWING else self.filters[name] for name in _BUILTIN_FILTERS}
        self.filters = builtin | dict(_OWN_FILTERS)
        self.tests = {name: self.tests[name] for name in _TESTS}

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # fields are read from the given mappings by key; of Python objects only a loop's counters are reachable
        return isinstance(obj, LoopContext) and attr in _LOOP_FIELDS

    def is_safe_callable(self, obj: Any) -> bool:
        return False

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "**":
            return _checked_power(left, right)
        if operator_name == "%":
            if isinstance(left, str):
                raise _refuse("text formatting with % is not available in a message; use the filters")
            return operator.mod(left, right)
        if operator_name == "+":
            _check_size(left, right, len(left) + len(right) if _sized(left) and _sized(right) else 0)
            return operator.add(left, right)
        return _checked_product(left, right)


def _sized(value: Any) -> bool:
    return isinstance(value, str | list | tuple)


def _check_size(left: Any, right: Any, length: int) -> None:
    """Refuse a text or list beyond MAX_OUTPUT, or a whole number beyond MAX_INT_BITS, before it is built."""
    if length > MAX_OUTPUT:
        raise _refuse(f"a text or list longer than {MAX_OUTPUT:,}")
    if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
        raise _refuse(f"a whole number beyond {MAX_INT_BITS} bits")


def _checked_product(left: Any, right: Any) -> Any:
    for sequence, count in ((left, right), (right, left)):
        if _sized(sequence) and isinstance(count, int) and len(sequence) * max(count, 0) > MAX_SEQUENCE:
            raise _refuse(f"a repeated text or list longer than {MAX_SEQUENCE:,}")
    _check_size(left, right, 0)
    return operator.mul(left, right)


def _checked_power(left: Any, right: Any) -> Any:
    if isinstance(left, int | float) and isinstance(right, int | float):
        magnitude = abs(float(right)) * math.log10(max(abs(float(left)), 1.0))
        if magnitude > math.log10(MAX_POWER):
            raise _refuse(f"a power above {MAX_POWER:,}")
    result = operator.pow(left, right)
    if isinstance(result, complex):
        raise _refuse("a power without a real value")
    return result


_TEXT, _HTML = _MessageSandbox(html=False), _MessageSandbox(html=True)


def compile_text(source: str, *, html: bool = False) -> jinja2.Template:
    """The template of `source`; a `TemplateProblem` at its line when it is not one a message may use."""
    environment = _HTML if html else _TEXT
    try:
        tree = environment.parse(source)
        for kinds, why in _REFUSED_NODES:
            for node in tree.find_all(kinds):
                raise TemplateProblem(why, node.lineno)
        return environment.from_string(tree)  # compiling finds unknown filters and tests
    except jinja2.TemplateSyntaxError as error:  # TemplateAssertionError (an unknown filter) among them
        raise TemplateProblem(_syntax(error), error.lineno) from None
    except (RecursionError, SyntaxError, MemoryError):  # Python's own limits on nesting, met while parsing or compiling
        raise TemplateProblem("nested too deeply to be a message template") from None
    except ValueError as error:  # a number literal of thousands of digits
        raise TemplateProblem(f"cannot be compiled: {error}") from None


def render_text(template: jinja2.Template, context: Mapping[str, Any]) -> str:
    """`template` rendered with `context` (mappings of fields by name); a `TemplateProblem` naming the line and the field when it cannot be.

    The rendering is bounded while it runs, not only once it is done: at most MAX_STEPS
    lines of the template are run and MAX_OUTPUT characters produced.
    """
    chunks: list[str] = []
    length = 0
    try:
        with _StepLimit(template):
            for chunk in template.generate(dict(context)):
                length += len(chunk)
                if length > MAX_OUTPUT:
                    raise TemplateProblem(f"renders to more than the {MAX_OUTPUT:,} characters a message may have")
                chunks.append(chunk)
    except jinja2.exceptions.SecurityError as error:
        raise TemplateProblem(_refused(str(error)), _line(error)) from None
    except jinja2.UndefinedError as error:  # the sandbox's refusals of attributes arrive as undefined values
        message = str(error)
        raise TemplateProblem(_refused(message) if "is unsafe" in message else _undefined(message), _line(error)) from None
    except RecursionError:
        raise TemplateProblem("nested too deeply to be rendered") from None
    except (jinja2.TemplateError, AssertionError, TypeError, ValueError, ArithmeticError, LookupError) as error:
        # a filter given arguments it cannot use (truncate shorter than its ellipsis, round with an unknown method)
        raise TemplateProblem(f"cannot be rendered: {error or type(error).__name__}", _line(error)) from None
    return "".join(chunks)


class _StepLimit:
    """Counts the template's own lines as they run (a tracer on template frames only) and stops the rendering past MAX_STEPS."""

    def __init__(self, template: jinja2.Template) -> None:
        self.template = template

    def __enter__(self) -> None:
        self.left = MAX_STEPS
        self.previous = sys.gettrace()
        sys.settrace(self._call)

    def __exit__(self, *exc: object) -> None:
        sys.settrace(self.previous)

    def _call(self, frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        return self._line if frame.f_code.co_filename == "<template>" else None

    def _line(self, frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        if event == "line":
            self.left -= 1
            if self.left < 0:
                line = self.template.get_corresponding_lineno(frame.f_lineno)
                raise TemplateProblem(f"runs more than {MAX_STEPS:,} steps: a message needs far fewer (loops inside loops over long texts?)", line)
        return self._line


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

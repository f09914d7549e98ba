"""The message sandbox: fields by name and listed filters work; the known escapes, calls and unbounded output are refused in words."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from erp_crm.automation.sandbox import MAX_OUTPUT, TemplateProblem, compile_text, render_text

NBSP = "\u00a0"
CONTEXT = {
    "partner": {"name": "Alfa <b>Kft</b> & Tsa", "revenue": 1234567.5, "values": "v"},
    "products": ["a", "b"],
    "trigger": {"due_date": dt.date(2026, 3, 2), "closed_at": dt.datetime(2026, 2, 28, 23, 59), "none": None},
}


def render(source: str, *, html: bool = False) -> str:
    return render_text(compile_text(source, html=html), CONTEXT)


def test_fields_filters_and_formats() -> None:
    assert render("{{ partner.name }}") == "Alfa <b>Kft</b> & Tsa", "plain text is not escaped"
    assert render("<p>{{ partner.name }}</p>", html=True) == "<p>Alfa &lt;b&gt;Kft&lt;/b&gt; &amp; Tsa</p>"
    assert render("{{ partner.revenue|huf }}") == f"1{NBSP}234{NBSP}568{NBSP}Ft"
    assert render("{{ partner.revenue|number('en', 1) }}") == "1,234,567.5"
    assert render("{{ partner.name|upper|truncate(8, True, '…', 0) }}") == "ALFA <B…"
    assert render("{% for p in products %}{{ loop.index }}{{ p }} {% endfor %}") == "1a 2b "
    assert render("{% if partner.revenue > 1000 %}big{% else %}small{% endif %}") == "big"
    assert render("{{ partner['values'] }}") == "v", "a field named like a dict method is read with brackets"
    assert render("{{ trigger.none|huf }}{{ trigger.none|number('en', 2) }}") == "", "an empty field prints nothing, formatted or not"
    assert render("{{ trigger.due_date|day }}|{{ trigger.closed_at|day('en') }}|{{ trigger.none|day }}") == "2026. március 2.|28 February 2026|"


# Known Jinja2 sandbox escapes and their families, and what a careless template could do.
PAYLOADS = {
    "{{ ''.__class__ }}": "reading '__class__'",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}": "reading '__class__'",
    "{{ self._TemplateReference__context }}": "reading '_TemplateReference__context'",
    "{{ self.__init__.__globals__ }}": "reading '__init__'",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}": "reading '__init__'",
    "{{ joiner.__init__.__globals__ }}": "reading '__init__'",
    "{{ lipsum.__globals__['os'] }}": "unknown field 'lipsum'",
    "{{ namespace.__init__.__globals__ }}": "reading '__init__'",
    "{{ partner|attr('__class__') }}": "No filter named 'attr'",
    "{{ partner|attr('__class__')|attr('__base__') }}": "No filter named 'attr'",
    "{{ '{0.__class__}'.format(partner) }}": "calling a function or method",
    "{{ '{0.__class__}'.format_map(partner) }}": "calling a function or method",
    "{{ '%s'|format(partner) }}": "No filter named 'format'",
    "{{ partner.items() }}": "calling a function or method",
    "{{ partner.values }}": "reading 'values'",
    "{% for p in products %}{{ loop.cycle.__globals__ }}{% endfor %}": "reading 'cycle'",
    "{% for p in products %}{{ loop._iterator }}{% endfor %}": "reading '_iterator'",
    "{{ partner['__class__'] }}": "reading '__class__'",
    "{{ request.application.__globals__ }}": "unknown field 'request'",
    "{{ config.items() }}": "unknown field 'config'",
    "{% for i in range(1000) %}{% endfor %}": "calling a function or method",
    "{{ 10**9 }}": "a power above 1,000,000",
    "{{ dict(a=1) }}": "calling a function or method",
    "{{ products|map('upper')|join }}": "No filter named 'map'",
    "{{ products|selectattr('x') }}": "No filter named 'selectattr'",
    "{{ partner|tojson }}": "No filter named 'tojson'",
    "{{ partner|pprint }}": "No filter named 'pprint'",
    "{{ 'x' * 100000 }}": "a repeated text or list longer than 10,000",
    "{{ products * 10000 }}": "a repeated text or list longer than 10,000",
    "{{ 9 ** 9 ** 9 }}": "a power above 1,000,000",
    "{% include 'other.yaml' %}": "templates cannot include, import or extend",
    "{% extends 'base' %}": "templates cannot include, import or extend",
    "{% import 'macros' as m %}": "templates cannot include, import or extend",
    "{{ partner.nmae }}": "unknown field 'nmae'",
    # what could fill the memory or the time of a dispatcher
    "{{ partner.name * 10 * 10 * 10 * 10 * 10 }}": "a repeated text or list longer than 10,000",
    "{{ 'x'|center(1000000000) }}": "center would make a text longer than 200,000",
    "{{ (partner.name * 400)|replace('a', partner.name * 400) }}": "replace would make a text longer than 200,000",
    "{{ (partner.name * 400)|join(partner.name * 400) }}": "join would make a text longer than 200,000",
    "{{ '%999999999d' % 1 }}": "text formatting with % is not available",
    "{{ '%(name)s' % partner }}": "text formatting with % is not available",
    "{{ 10 ** 6 * 10 ** 6 * 10 ** 6 * 10 ** 6 * 10 ** 6 * 10 ** 6 * 10 ** 6 }}": "a whole number beyond 128 bits",
    "{{ (-8) ** 0.5 }}": "a power without a real value",
    "{% set a = partner.name %}{{ a }}": "{% set %} is not available in a message",
    "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}": "macros are not available in a message",
    "{% autoescape false %}{{ partner.name }}{% endautoescape %}": "{% autoescape %} cannot be changed",
    "{% for a in products %}{% for b in partner.name * 300 %}{% for c in partner.name * 300 %}{% endfor %}{% endfor %}{% endfor %}": "runs more than 200,000 steps",
    "{{ partner }}": "a whole record or list cannot be printed",
    "{{ products }}": "a whole record or list cannot be printed",
    "{% for p in products %}{{ loop|string }}{% endfor %}": "a whole record or list cannot be printed",
    "{{ partner.items is callable }}": "No test named 'callable'",
    "{{ 'abc'|truncate(1) }}": "cannot be rendered",
    "{{ 1.5|round(method='x') }}": "cannot be rendered",
    "{{ 5|number('xx') }}": "the language 'xx' is not one of hu, en",
    "{{ 5|huf('de') }}": "the language 'de' is not one of hu, en",
    "{{ 5|number('hu', 1000000) }}": "number: decimals from 0 to 6",
    "{{ 'nan'|number }}": "'nan' is not an amount",
    "{{ 1e308|huf }}": "is not an amount",
    "{{ 1 / 0 }}": "cannot be rendered: division by zero",
    # money and day: values no ERP record holds, and codes no currency has
    "{{ 5|money('XYZ') }}": "money: 'XYZ' is not a currency code",
    "{{ 5|money('<script>') }}": "money: '<script>' is not a currency code",
    '{{ 5|money("HUF\'; DROP TABLE crm_partner; --") }}': "is not a currency code",
    "{{ 5|money(5) }}": "money: '5' is not a currency code",
    "{{ 5|money('HUF', 'de') }}": "the language 'de' is not one of hu, en",
    "{{ 'sok'|money }}": "'sok' is not a number",
    "{{ true|money }}": "'True' is not a number",
    "{{ partner|money }}": "is not a number",
    "{{ 1e300|money }}": "is not an amount",
    "{{ 'inf'|money('EUR') }}": "is not an amount",
    "{{ 'tegnap'|day }}": "day: 'tegnap' is not a date (YYYY-MM-DD)",
    "{{ '2026-02-30'|day }}": "day: '2026-02-30' is not a date",
    "{{ 20261202|day }}": "day: '20261202' is not a date",
    "{{ products|day }}": "is not a date",
    "{{ '2026-12-02'|day('xx') }}": "the language 'xx' is not one of hu, en",
    "{{ [partner]|join(', ') }}": "a whole record or list cannot be printed",
    "{{ trigger.due_date|day('de') }}": "the language 'de' is not one of hu, en",
    "{{ trigger.due_date.year }}": "reading 'year'",
}


@pytest.mark.parametrize("source", list(PAYLOADS))
def test_known_escapes_and_mistakes_are_refused_in_words(source: str) -> None:
    with pytest.raises(TemplateProblem) as raised:
        render(source)
    assert PAYLOADS[source] in raised.value.message, raised.value.message
    assert raised.value.line in (1, None)
    assert "Traceback" not in raised.value.message and "0x" not in raised.value.message, "no Python object shown"


@pytest.mark.parametrize(
    "source",
    ["{{ " + "(" * 300 + "1" + ")" * 300 + " }}", "{{ " + "-" * 3000 + "1 }}", "{% for a in [1] %}" * 25 + "{% endfor %}" * 25, "{{ " + "9" * 5000 + " }}"],
)
def test_what_python_cannot_compile_is_a_template_problem(source: str) -> None:
    with pytest.raises(TemplateProblem):
        render(source)


FORMATTED = {
    "{{ 12345|money('HUF') }}": f"12{NBSP}345{NBSP}Ft",
    "{{ 12345|money('HUF', 'en') }}": f"HUF{NBSP}12,345",
    "{{ amount|money('eur', 'hu') }}": f"12{NBSP}345,50{NBSP}EUR",
    "{{ amount|money('EUR', 'en') }}": "€12,345.50",
    "{{ -1234.5|money('USD', 'en') }}": "-$1,234.50",
    "{{ '99.5'|money('HUF') }}": f"100{NBSP}Ft",
    "{{ 999999999999999|money('HUF', 'en') }}": f"HUF{NBSP}999,999,999,999,999",
    "{{ none|money(none) }}": "",
    "{{ day|day }}": "2026. december 2.",
    "{{ day|day('en') }}": "2 December 2026",
    "{{ '2026-12-02 10:30:00'|day('en') }}": "2 December 2026",
    "{{ stamp|day }}": "2026. december 2.",
    "{{ none|day }}": "",
    "{{ products|join(', ') }}": "a, b",
    "{{ products|join }}": "ab",
    "{{ partner.name|replace('Kft', 'Zrt') }}": "Alfa <b>Zrt</b> & Tsa",
    "{{ 'egy ketto'|wordwrap(5) }}": "egy\nketto",
}


VALUES = {**CONTEXT, "amount": Decimal("12345.50"), "day": dt.date(2026, 12, 2), "stamp": dt.datetime(2026, 12, 2, 23, 59), "none": None}


@pytest.mark.parametrize(("source", "expected"), FORMATTED.items())
def test_money_day_and_the_filters_jinja_hands_its_context(source: str, expected: str) -> None:
    assert render_text(compile_text(source), VALUES) == expected


def test_joined_and_formatted_values_are_escaped_in_html() -> None:
    context = {"products": ["<script>alert(1)</script>", "Csavar & anya"]}
    assert render_text(compile_text("{{ products|join(', ') }}", html=True), context) == "&lt;script&gt;alert(1)&lt;/script&gt;, Csavar &amp; anya"
    assert render_text(compile_text("<b>{{ 5|money('HUF') }}</b>", html=True), {}) == f"<b>5{NBSP}Ft</b>"


def test_an_empty_field_prints_nothing() -> None:
    assert render_text(compile_text("[{{ partner.city }}]"), {"partner": {"city": None}}) == "[]"


def test_the_line_of_a_mistake_is_the_template_s() -> None:
    with pytest.raises(TemplateProblem) as raised:
        render("Kedves {{ partner.name }}!\n\nKöszönjük.\n{{ partner.nmae }}")
    assert (raised.value.line, raised.value.message) == (4, "unknown field 'nmae'")
    with pytest.raises(TemplateProblem) as raised:
        compile_text("one\ntwo {{ partner.name \nthree")
    assert raised.value.line == 3, "where the parser met the unexpected word"


def test_output_is_bounded() -> None:
    loop = "{% for a in products %}" * 4 + "{{ partner.name * 400 }}" + "{% endfor %}" * 4
    source = "{% for x in partner.name %}" * 3 + "{{ '" + "x" * 9_000 + "' }}" + "{% endfor %}" * 3
    with pytest.raises(TemplateProblem, match=f"more than the {MAX_OUTPUT:,} characters a message may have"):
        render(source)
    assert len(render(loop)) == 16 * 400 * len(CONTEXT["partner"]["name"])


@given(st.text(max_size=200))
def test_any_text_compiles_and_renders_or_says_why(source: str) -> None:
    try:
        render(source)
    except TemplateProblem as problem:
        assert problem.message

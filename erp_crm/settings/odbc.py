"""ODBC connection strings: their attributes, and the rule that a password is never written in a file.

A settings file or a connector definition can be shown, mailed or committed; the password
therefore comes from `erp.password_env` or `erp.password_file` and is added to the string
only in memory (`ErpSettings.full_odbc`). A string given in the environment
(ERP_CRM__ERP__ODBC) may carry one, as a URL given there may.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

PASSWORD_ATTRIBUTES = frozenset({"pwd", "password"})
PASSWORD_GOES_ELSEWHERE = (
    "the password does not go in the connection string: put it in the environment variable "
    "named by erp.password_env (ERP_CRM_ERP_PASSWORD) or in a file named by erp.password_file"
)


def odbc_attributes(text: str) -> list[tuple[str, str]]:
    """Split an ODBC connection string into (name, raw value) pairs.

    Values in braces may contain `;` and `}}` (an escaped brace), so a plain split on `;`
    would cut a password in two and show half of it. A raw value keeps its braces, so a
    caller can tell a value that ends where it says from one that may run on.
    """
    pairs: list[tuple[str, str]] = []
    i = 0
    while i < len(text):
        eq = text.find("=", i)
        if eq < 0:
            if text[i:].strip():
                pairs.append((text[i:].strip(), ""))
            break
        name = text[i:eq].strip()
        j = eq + 1
        end = text.find(";", _closing_brace(text, j + 1) if text[j : j + 1] == "{" else j)
        end = len(text) if end < 0 else end
        pairs.append((name, text[j:end]))
        i = end + 1
    return pairs


def _closing_brace(text: str, k: int) -> int:
    """Where the braced value starting before `k` ends (`}}` is an escaped brace), or the end of the text."""
    while k < len(text):
        if text[k] == "}":
            if text[k + 1 : k + 2] != "}":
                return k
            k += 1
        k += 1
    return len(text)


def is_password(name: str) -> bool:
    """Drivers take the attribute names in any case and with spaces around them, so the check does too."""
    return name.strip().lower() in PASSWORD_ATTRIBUTES


def is_braced(raw: str) -> bool:
    """Whether a raw value is one braced value and nothing else, so nothing after it can belong to it."""
    return raw.startswith("{") and _closing_brace(raw, 1) == len(raw) - 1


def odbc_has_password(value: object) -> bool:
    """Whether `value` is an ODBC connection string with a password attribute in it."""
    return isinstance(value, str) and any(is_password(name) for name, _ in odbc_attributes(value))


def refuse_password(text: str) -> str:
    """`text`, or a ValueError when it carries a password (a connector definition is not secret)."""
    if odbc_has_password(text):
        raise ValueError(PASSWORD_GOES_ELSEWHERE)
    return text


OdbcString = Annotated[str, AfterValidator(refuse_password)]
"""An ODBC connection string as a connector definition may give it: without a password."""

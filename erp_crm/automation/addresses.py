"""Where a message can go: e-mail addresses and phone numbers checked and written one way, or why they cannot be used.

ERP contact fields hold whatever was typed: "06-30/123 4567", "+36 (30) 1234567",
"Kovács.Péter@Példa.HU ", a landline in the mobile field. A message sent to a number
written two ways would count as two contacts, and one sent to a landline or a mistyped
address fails at the gateway after it was counted as sent. So every address is written
one way before it is used (E.164 for phones, Hungary as the default region; the
ASCII form of e-mail addresses, an international domain IDNA-encoded), and one
that cannot be used gets a reason in words, which suppresses the message that would have
gone to it. Parsing is the phonenumbers and email-validator libraries' job, not ours.
"""

from __future__ import annotations

from dataclasses import dataclass

import email_validator
import phonenumbers
from phonenumbers import PhoneNumberType

DEFAULT_REGION = "HU"
MAX_LENGTH = 254  # the longest e-mail address SMTP carries (RFC 5321 with its errata)
MAX_PHONE_LENGTH = 64  # a number written with every separator and an extension fits easily; longer is not a number
_TEXT_ONLY = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE, PhoneNumberType.PAGER)


@dataclass(frozen=True)
class Address:
    """An address written one way (`value`), or why it cannot be used (`reason`); exactly one of the two is set."""

    value: str | None
    reason: str | None = None

    @property
    def usable(self) -> bool:
        return self.value is not None


def email_address(text: object) -> Address:
    """The e-mail address in its normalised form, or why it is not one (checked offline: no DNS lookups)."""
    cleaned = _cleaned(text, "e-mail address", MAX_LENGTH)
    if isinstance(cleaned, Address):
        return cleaned
    try:
        found = email_validator.validate_email(cleaned, check_deliverability=False)
    except email_validator.EmailNotValidError as error:
        return Address(None, f"not an e-mail address ({cleaned!r}): {error}")
    if found.ascii_email is None:  # letters beyond ASCII before the @ need SMTPUTF8, which few servers offer
        return Address(None, f"{cleaned!r} has letters beyond ASCII before the @, which most mail servers cannot take")
    return Address(found.ascii_email)


def phone_number(text: object, region: str = DEFAULT_REGION) -> Address:
    """The number in E.164 (+36301234567), or why it is not a valid one; numbers without a country code are read as `region`'s."""
    cleaned = _cleaned(text, "phone number", MAX_PHONE_LENGTH)
    if isinstance(cleaned, Address):
        return cleaned
    try:
        number = phonenumbers.parse(cleaned, region)
    except phonenumbers.NumberParseException:
        return Address(None, f"not a phone number ({cleaned!r})")
    if not phonenumbers.is_valid_number(number):
        return Address(None, f"not a valid phone number ({cleaned!r})")
    return Address(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def sms_number(text: object, region: str = DEFAULT_REGION) -> Address:
    """`phone_number`, refused when its kind cannot take a text message (a landline, a toll-free or premium line)."""
    found = phone_number(text, region)
    if found.value is None:
        return found
    kind = phonenumbers.number_type(phonenumbers.parse(found.value))
    if kind not in _TEXT_ONLY:
        return Address(None, f"{found.value} is {_KINDS.get(kind, 'not a mobile number')}: a text message cannot reach it")
    return found


_KINDS = {
    PhoneNumberType.FIXED_LINE: "a landline",
    PhoneNumberType.TOLL_FREE: "a toll-free line",
    PhoneNumberType.PREMIUM_RATE: "a premium-rate line",
    PhoneNumberType.SHARED_COST: "a shared-cost line",
    PhoneNumberType.VOIP: "an internet phone number",
    PhoneNumberType.UAN: "a company's central number",
    PhoneNumberType.VOICEMAIL: "a voicemail number",
}


def _cleaned(text: object, what: str, longest: int) -> str | Address:
    """The text without surrounding blanks (ERP fields often end in spaces or a no-break space), or the refusal of an empty or overlong one."""
    if isinstance(text, int) and not isinstance(text, bool):  # a numeric ERP column: a phone number stored as a number
        text = str(text)
    cleaned = text.strip() if isinstance(text, str) else ""  # str.strip takes the no-break space too
    if not cleaned:
        return Address(None, f"no {what}")
    if len(cleaned) > longest:
        return Address(None, f"not {'an' if what[0] in 'aeiou' else 'a'} {what}: longer than {longest} characters")
    return cleaned

"""Webhooks signed so the receiver can tell they came from this erp-crm, unaltered and recently.

The signature follows the Standard Webhooks specification (standardwebhooks.com), which
many receivers already verify with a library: HMAC-SHA256, with the secret shared with
the receiver, over `<id>.<timestamp>.<body>`, sent in three headers:

    webhook-id: <the outbox row's idempotency key>       (the same on every attempt: receivers de-duplicate on it)
    webhook-timestamp: <seconds since 1970, UTC>         (a receiver refuses old ones: no replay)
    webhook-signature: v1,<base64 of the HMAC>

Secrets are written `whsec_<base64>`, as the specification has them; a secret rotated
on the receiver's side can be given as several, space-separated signatures.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping

from erp_crm.errors import UserError

PREFIX = "whsec_"
_SECONDS = re.compile(r"[1-9][0-9]{0,11}")  # ASCII digits, no leading zero: the form a timestamp is signed in
TOLERANCE_SECONDS = 300  # a receiver refuses a signature older or newer than this


class WebhookRejected(Exception):
    """A webhook whose signature does not verify; the message says why (for the receiver's log, not for the sender)."""


def parse_secret(text: object) -> bytes:
    """The key bytes of a `whsec_<base64>` secret; a UserError saying what is wrong with one that is not."""
    if not isinstance(text, str):
        raise UserError(f"a webhook secret is text ({PREFIX}<base64>), not {type(text).__name__}")
    body = text.strip().removeprefix(PREFIX)
    try:
        key = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise UserError(f"a webhook secret is {PREFIX}<base64>, and this one is not base64") from None
    if len(key) < 16:
        raise UserError(f"a webhook secret needs at least 16 bytes of key, and this one has {len(key)}")
    return key


def signature(key: bytes, webhook_id: str, timestamp: int | str, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256>` of `<id>.<timestamp>.<body>`, the timestamp as it is (or will be) written in its header."""
    content = f"{webhook_id}.{timestamp}.".encode("utf-8", "surrogatepass") + body  # a broken id still signs (and fails) as bytes
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode("ascii")


def signed_headers(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers that go with `body`."""
    return {"webhook-id": webhook_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature(key, webhook_id, timestamp, body)}


def verify(key: bytes, headers: Mapping[str, object], body: bytes, now: int, tolerance: int = TOLERANCE_SECONDS) -> None:
    """Nothing if `headers` sign `body` with `key` within `tolerance` seconds of `now`; else WebhookRejected saying why."""
    lowered = {str(name).lower(): value for name, value in headers.items()}
    webhook_id, stamp, signatures = (lowered.get(f"webhook-{part}") for part in ("id", "timestamp", "signature"))
    if not all(isinstance(v, str) and v for v in (webhook_id, stamp, signatures)):
        raise WebhookRejected("missing webhook-id, webhook-timestamp or webhook-signature")
    assert isinstance(webhook_id, str) and isinstance(stamp, str) and isinstance(signatures, str)
    if not _SECONDS.fullmatch(stamp):
        raise WebhookRejected(f"webhook-timestamp is not a number of seconds: {stamp[:20]!r}")
    if abs(now - int(stamp)) > tolerance:
        raise WebhookRejected(f"webhook-timestamp is {abs(now - int(stamp))} seconds away from now; at most {tolerance} are accepted")
    expected = signature(key, webhook_id, stamp, body).encode("ascii")  # over the timestamp as it was sent
    if not any(hmac.compare_digest(expected, given.encode("utf-8", "surrogatepass")) for given in signatures.split()):
        raise WebhookRejected("no signature matches the body")

"""Webhook signatures: the Standard Webhooks test vector, and every way a forged, altered or replayed one is refused."""

from __future__ import annotations

import pytest

from erp_crm.automation.webhook_signing import WebhookRejected, parse_secret, signed_headers, verify
from erp_crm.errors import UserError

# The example of the Standard Webhooks specification (github.com/standard-webhooks/standard-webhooks).
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ID, STAMP, BODY = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'


def test_the_specification_s_example() -> None:
    headers = signed_headers(parse_secret(SECRET), ID, STAMP, BODY)
    assert headers == {"webhook-id": ID, "webhook-timestamp": "1614265330", "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}
    verify(parse_secret(SECRET), headers, BODY, now=STAMP + 10)
    verify(parse_secret(SECRET), {k.title(): v for k, v in headers.items()}, BODY, now=STAMP), "header names in any case"


def test_a_rotated_secret_may_sign_beside_the_old_one() -> None:
    old, new = parse_secret(SECRET), parse_secret("whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY")
    both = signed_headers(new, ID, STAMP, BODY) | {
        "webhook-signature": signed_headers(new, ID, STAMP, BODY)["webhook-signature"] + " " + signed_headers(old, ID, STAMP, BODY)["webhook-signature"]
    }
    verify(old, both, BODY, now=STAMP)
    verify(new, both, BODY, now=STAMP)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"body": b'{"test": 2432232315}'}, "no signature matches the body"),
        ({"webhook-id": "msg_other"}, "no signature matches the body"),
        ({"webhook-timestamp": str(STAMP + 1)}, "no signature matches the body"),
        ({"webhook-signature": "v1,AAAA"}, "no signature matches the body"),
        ({"now": STAMP + 301}, "webhook-timestamp is 301 seconds away from now; at most 300 are accepted"),
        ({"now": STAMP - 400}, "webhook-timestamp is 400 seconds away from now"),
        ({"webhook-timestamp": "1e9"}, "webhook-timestamp is not a number of seconds: '1e9'"),
        ({"webhook-signature": ""}, "missing webhook-id, webhook-timestamp or webhook-signature"),
        ({"webhook-timestamp": "²"}, "not a number of seconds"),
        ({"webhook-timestamp": "9" * 5000}, "not a number of seconds"),
        ({"webhook-timestamp": "０" + str(STAMP)}, "not a number of seconds"),
        ({"webhook-timestamp": "0" + str(STAMP)}, "not a number of seconds"),
        ({"webhook-signature": "v1,é"}, "no signature matches the body"),
        ({"webhook-signature": "v1,\udc80"}, "no signature matches the body"),
        ({"webhook-id": "\ud800"}, "no signature matches the body"),
    ],
)
def test_altered_forged_or_replayed_webhooks_are_refused(change: dict[str, object], reason: str) -> None:
    key = parse_secret(SECRET)
    headers = signed_headers(key, ID, STAMP, BODY)
    body, now = change.pop("body", BODY), change.pop("now", STAMP)
    headers.update({k: str(v) for k, v in change.items()})
    with pytest.raises(WebhookRejected, match=reason):
        verify(key, headers, body, now=now)  # type: ignore[arg-type]


@pytest.mark.parametrize(("secret", "message"), [("whsec_not base64!", "not base64"), ("whsec_c2hvcnQ=", "at least 16 bytes of key, and this one has 5")])
def test_a_bad_secret_says_what_is_wrong(secret: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        parse_secret(secret)

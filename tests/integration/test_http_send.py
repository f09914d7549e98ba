"""Each way an HTTP gateway can answer, against a real server on loopback, and what it means for a message sent at most once."""

from __future__ import annotations

import re

import pytest

from erp_crm.automation.http_send import MAX_ANSWER, HttpRequest, HttpSender, SuccessCheck, retry_after
from erp_crm.automation.smtp_send import Outcome, SendResult
from tests.support.http_gateway import LoopbackGateway, Reply, closed_port

CHECK = SuccessCheck(json="result", equals="OK", message_id="id")


def post(url: str, check: SuccessCheck = CHECK, timeout: float = 2.0, **more: object) -> SendResult:
    sender = HttpSender(timeout)
    try:
        return sender.send(HttpRequest("POST", url, body=b"to=%2B36301234567", **more), check)  # type: ignore[arg-type]
    finally:
        sender.close()


@pytest.mark.parametrize(
    ("reply", "outcome", "stop", "throttled"),
    [
        (Reply(200, '{"result": "OK", "id": "abc-1"}'), Outcome.SENT, False, False),
        (Reply(200, '{"result": "ERR", "message": "bad number"}'), Outcome.REFUSED, False, False),
        (Reply(200, "<html>maintenance</html>"), Outcome.UNKNOWN, False, False),  # garbage: the check cannot read it
        (Reply(200, '{"other": 1}'), Outcome.UNKNOWN, False, False),
        (Reply(400, '{"error": "invalid To"}'), Outcome.REFUSED, False, False),
        (Reply(401, "bad token"), Outcome.RETRY, True, False),
        (Reply(403, "forbidden"), Outcome.RETRY, True, False),
        (Reply(429, "", {"Retry-After": "7"}), Outcome.RETRY, False, True),
        (Reply(503, "", {"Retry-After": "3"}), Outcome.RETRY, False, True),
        (Reply(503, "down"), Outcome.UNKNOWN, False, False),
        (Reply(500, "oops"), Outcome.UNKNOWN, False, False),
        (Reply(302, "", {"Location": "https://elsewhere.example/"}), Outcome.REFUSED, False, False),
        (Reply(200, '{"result": "OK"}', drop=True), Outcome.UNKNOWN, False, False),  # dropped after reading the request
        (Reply(200, '{"result": "OK"}', delay=1.5), Outcome.UNKNOWN, False, False),  # a timeout after sending
    ],
)
def test_each_answer_has_one_meaning(reply: Reply, outcome: Outcome, stop: bool, throttled: bool) -> None:
    with LoopbackGateway(reply) as gateway:
        result = post(gateway.url + "/send", timeout=0.5)
    assert (result.outcome, result.stop, result.throttled) == (outcome, stop, throttled), result
    assert len(gateway.received) == 1, "every request reached the server exactly once"


def test_the_message_id_and_retry_after_are_read() -> None:
    with LoopbackGateway(Reply(200, '{"result": "OK", "id": "SM-42"}')) as gateway:
        sent = post(gateway.url)
    with LoopbackGateway(Reply(429, "slow", {"Retry-After": "12"})) as gateway:
        slow = post(gateway.url)
    assert (sent.provider_id, sent.code, sent.detail) == ("SM-42", 200, "message id SM-42")
    assert slow.retry_after == 12.0 and slow.code == 429
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0 and retry_after("soon") is None and retry_after("99999999") == 86400.0


def test_a_server_that_cannot_be_reached_is_retried_and_stops_the_run() -> None:
    result = post(f"http://127.0.0.1:{closed_port()}/send")
    unresolvable = post("http://nincs-ilyen-gep.invalid/send")
    assert (result.outcome, result.stop) == (Outcome.RETRY, True) and "cannot reach http://127.0.0.1" in result.detail
    assert (unresolvable.outcome, unresolvable.stop) == (Outcome.RETRY, True)


def test_a_huge_answer_is_read_only_in_part() -> None:
    huge = '{"result": "OK", "pad": "' + "x" * (MAX_ANSWER * 20) + '"}'
    with LoopbackGateway(Reply(200, huge)) as gateway:
        result = post(gateway.url)
    assert result.outcome is Outcome.UNKNOWN, "a body cut short cannot be read: the message may have been taken"
    assert len(result.detail) < 1000


def test_a_header_with_a_line_break_leaves_nothing() -> None:
    with LoopbackGateway(Reply(200, '{"result": "OK"}')) as gateway:
        result = post(gateway.url, headers=(("X-Note", "a\r\nX-Evil: 1"),))
    assert result.outcome is Outcome.REFUSED and gateway.received == []


def test_a_regex_check_and_a_stop_word_in_a_200() -> None:
    check = SuccessCheck(regex=re.compile(r"^OK\b"), stop_regex=re.compile(r"auth"))
    with LoopbackGateway(lambda request: Reply(200, "OK 1" if b"good" in request.body else "ERR auth")) as gateway:
        good = HttpSender(2).send(HttpRequest("POST", gateway.url, body=b"good"), check)
        bad = HttpSender(2).send(HttpRequest("POST", gateway.url, body=b"bad"), check)
    assert good.outcome is Outcome.SENT and (bad.outcome, bad.stop) == (Outcome.RETRY, True)

"""One request over HTTP (an SMS gateway, a webhook receiver), with an outcome that says whether it may have arrived.

The outbox sends at most once (docs/sending.md), so what matters about a failure is
whether the request could have reached the server:

- it certainly did not (the connection was refused, the name did not resolve, the TLS
  handshake failed, no connection was free): `RETRY`, and the run `stop`s, because
  the next message would meet the same closed door;
- it may have (a timeout once the request was on its way, a connection dropped
  before the answer, a `5xx` without a clear word, a `2xx` whose body the success check
  cannot read): `UNKNOWN`, never sent again blindly;
- the server said no (`4xx`): `REFUSED` with its words; `401` and `403` also `stop` the
  run (the credentials are wrong for every message), leaving the message queued;
- the server asked to slow down (`429`, or `503` with `Retry-After`): `RETRY`,
  `throttled`, with `retry_after` in seconds when it said how long.

Redirects are not followed (a gateway that moved must be configured at its new
address, not reached by whatever a `Location` header says), the proxy settings of the
environment are ignored, and at most `MAX_ANSWER` bytes of an answer are read.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

from erp_crm.automation.smtp_send import Outcome, SendResult

MAX_ANSWER = 64 * 1024  # bytes of an answer read; a gateway's reply is a few hundred
STOPPING = frozenset({401, 403})
_UNREAD = object()


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


@dataclass(frozen=True)
class SuccessCheck:
    """When a gateway's answer means "taken": an HTTP status in `statuses`, and the body saying so.

    `json` is a dotted path into a JSON body (`result`, `data.0.status`) whose value must
    be `equals` (or, without `equals`, present); `regex` must match the body; `message_id`
    is the dotted path of the gateway's id for the message; a body matching `stop_regex`
    means the account itself is refused (a wrong key said in a `200`), which stops the run.
    """

    statuses: frozenset[int] = frozenset({200, 201, 202, 204})
    json: str | None = None
    equals: str | None = None
    regex: re.Pattern[str] | None = None
    message_id: str | None = None
    stop_regex: re.Pattern[str] | None = None

    def judge(self, status: int, body: str) -> SendResult:
        """The outcome of an answer with a `2xx` status."""
        if status not in self.statuses:
            return SendResult(Outcome.UNKNOWN, status, f"an answer the success check does not expect: {_excerpt(body)}")
        if self.stop_regex is not None and self.stop_regex.search(body):
            return SendResult(Outcome.RETRY, status, f"the gateway refused the account: {_excerpt(body)}", stop=True)
        parsed = _json(body) if self.json is not None or self.message_id is not None else None
        if self.json is not None:
            found = _at(parsed, self.json)
            if found is _UNREAD:
                return SendResult(Outcome.UNKNOWN, status, f"the answer has no {self.json!r}: {_excerpt(body)}")
            if self.equals is not None and str(found) != self.equals:
                return SendResult(Outcome.REFUSED, status, _excerpt(body))
        if self.regex is not None and not self.regex.search(body):
            return SendResult(Outcome.UNKNOWN, status, f"the answer does not match the success check: {_excerpt(body)}")
        provider_id = _at(parsed, self.message_id) if self.message_id else None
        shown = None if provider_id is _UNREAD or provider_id is None else str(provider_id)[:200]
        return SendResult(Outcome.SENT, status, f"message id {shown}" if shown else _excerpt(body), provider_id=shown)


class HttpSender:
    """One HTTP client (kept-alive connections) for one channel's requests."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.client: httpx.Client | None = None

    def open(self) -> None:
        if self.client is None:
            self.client = httpx.Client(timeout=httpx.Timeout(self.timeout), follow_redirects=False, trust_env=False)

    def send(self, request: HttpRequest, check: SuccessCheck) -> SendResult:
        """Make the request; the outcome says whether it may have been taken."""
        self.open()
        assert self.client is not None
        try:
            with self.client.stream(request.method, request.url, headers=list(request.headers), content=request.body) as response:
                body = _read_some(response)
        except httpx.LocalProtocolError as error:  # a header value the protocol cannot carry: refused before anything left
            return SendResult(Outcome.REFUSED, detail=f"cannot be sent: {error}")
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol) as error:
            return SendResult(Outcome.RETRY, detail=f"cannot reach {_origin(request.url)}: {_words(error)}", stop=True)
        except httpx.TransportError as error:  # the request was on its way: it may have been taken
            return SendResult(Outcome.UNKNOWN, detail=f"no answer after the request was sent: {_words(error)}")
        return judge(response.status_code, response.headers, body, check)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


def judge(status: int, headers: httpx.Headers, body: str, check: SuccessCheck) -> SendResult:
    """What an HTTP answer means for the message (the table in the module's docstring)."""
    said = f"{status} {_excerpt(body)}".strip()
    wait = retry_after(headers.get("retry-after"))
    if status == 429 or (status == 503 and wait is not None):
        return SendResult(Outcome.RETRY, status, said, throttled=True, retry_after=wait)
    if status in STOPPING:
        return SendResult(Outcome.RETRY, status, f"the credentials were refused: {said}", stop=True)
    if status == 408:  # the server gave up waiting for the request: it did not take it
        return SendResult(Outcome.RETRY, status, said)
    if 300 <= status < 400:
        return SendResult(Outcome.REFUSED, status, f"redirected to {headers.get('location', '?')[:200]}: set that address in the settings")
    if 400 <= status < 500:
        return SendResult(Outcome.REFUSED, status, said)
    if status >= 500:
        return SendResult(Outcome.UNKNOWN, status, f"a server error: it may or may not have taken the message: {said}")
    return check.judge(status, body)


def retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (a number of seconds, or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(min(int(text), 86400))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, min((when - dt.datetime.now(dt.UTC)).total_seconds(), 86400.0))


def _read_some(response: httpx.Response) -> str:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_ANSWER:
            break
    return b"".join(chunks)[:MAX_ANSWER].decode("utf-8", "replace")


def _json(body: str) -> object:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return _UNREAD


def _at(value: object, path: str) -> object:
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _UNREAD
    return value


def _excerpt(body: str) -> str:
    return " ".join(body.split())[:500]


def _origin(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.host}" + (f":{parsed.port}" if parsed.port else "")


def _words(error: BaseException) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    return str(error)[:300] or type(error).__name__

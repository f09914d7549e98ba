"""A real HTTP server on loopback that answers as SMS gateways and webhook receivers do, and keeps what it was sent."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class Request:
    """One request as it arrived: method, path, query, headers (names lower-cased) and body."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        return dict(urllib.parse.parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    """How to answer: a status, body and headers; after `delay` seconds; or `drop` the connection once the request was read."""

    status: int = 200
    body: str | bytes = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False


Answering = Callable[[Request], Reply]


class LoopbackGateway:
    """`with LoopbackGateway(answer) as gateway:` serves on 127.0.0.1:`gateway.port`; `gateway.received` keeps every request read."""

    def __init__(self, answer: Answering | Reply = Reply()) -> None:
        self.answer: Answering = answer if callable(answer) else (lambda _request: answer)
        self.received: list[Request] = []
        self.lock = threading.Lock()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet: the tests read `received`
                return

            def handle_one(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                parsed = urllib.parse.urlsplit(self.path)
                request = Request(self.command, parsed.path, dict(urllib.parse.parse_qsl(parsed.query)), {k.lower(): v for k, v in self.headers.items()}, body)
                with gateway.lock:
                    gateway.received.append(request)
                reply = gateway.answer(request)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    self.close_connection = True
                    self.connection.close()
                    return
                content = reply.body.encode("utf-8") if isinstance(reply.body, str) else reply.body
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = handle_one

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LoopbackGateway:
        self.thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.server.shutdown()
        self.server.server_close()


def signed_by(key: bytes) -> Answering:
    """A webhook receiver: 204 for a request whose Standard Webhooks signature verifies with `key`, else 401 saying why."""
    from erp_crm.automation.webhook_signing import WebhookRejected, verify

    def answer(request: Request) -> Reply:
        try:
            verify(key, request.headers, request.body, int(time.time()))
        except WebhookRejected as error:
            return Reply(401, str(error))
        return Reply(204)

    return answer


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:  # a client that hung up is a case under test, not noise
        return


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def silent_port() -> Iterator[int]:
    """A loopback port that takes connections and never says a word (nor accepts them): a host behind a stuck proxy or a dead service."""
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)  # the system completes the handshakes; nobody reads or answers
        yield int(listener.getsockname()[1])

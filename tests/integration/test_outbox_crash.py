"""Dispatchers killed with SIGKILL at random points while they send: no message arrives twice, and none is lost from sight.

Each round queues more messages, starts dispatchers in processes of their own (one on
SQLite, where only one may run; two at once on PostgreSQL), and kills them a random
moment after they start sending, while the loopback server waits a little between
taking a message and answering, so kills land in the window that matters: the server
has the message and the dispatcher has not yet recorded it. A final dispatcher then
runs to the end. Afterwards every message is sent, unknown or failed; a sent one arrived
exactly once, an unknown one at most once, and nothing arrived that the outbox does not
show as possibly delivered.
"""

from __future__ import annotations

import collections
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from erp_crm.automation.email_message import message_id
from erp_crm.automation.outbox import Outgoing
from erp_crm.model.tables.outbox import outbox
from tests.support.http_gateway import LoopbackGateway, Reply, Request
from tests.support.outbox import SENDER, email, outbox_overlay, put, sms
from tests.support.smtp import LoopbackSmtp

ROOT = Path(__file__).resolve().parents[2]
KILLS = 50
PER_ROUND = 12
REFUSED_NUMBER = "+36709999999"


def start(url: str, port: int, channel: str = "email") -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.support.dispatch_child", url, str(port), channel], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.strip() == "dispatching", f"the dispatcher did not start: {line!r} {child.stderr.read() if child.stderr else ''}"
    return child


def kill_at_random(children: list[subprocess.Popen[str]], rng: random.Random) -> int:
    """SIGKILL each child a random moment into its work; the number that were still working when killed."""
    time.sleep(rng.uniform(0.0, 0.12))
    killed = 0
    for child in children:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            killed += 1
        child.wait()
        for stream in (child.stdout, child.stderr):
            assert stream is not None
            stream.close()
    return killed


def kill_rounds(overlay_url: str, port: int, channel: str, make: Callable[[int, int], Outgoing]) -> tuple[list[Any], int]:
    """Rounds of queued messages and dispatchers killed at random, then a dispatcher run to the end: the outbox rows and the rounds."""
    rng = random.Random(20261202)
    side_by_side = 1 if overlay_url.startswith("sqlite") else 2
    with outbox_overlay(overlay_url) as overlay:
        kills = rounds = 0
        while kills < KILLS:
            put(overlay, *(make(rounds, i) for i in range(PER_ROUND)))
            kills += kill_at_random([start(overlay_url, port, channel) for _ in range(side_by_side)], rng)
            rounds += 1
        deadline = time.monotonic() + 30  # PostgreSQL ends a killed client's session (and frees its lock) a moment later
        while True:
            final = subprocess.run(
                [sys.executable, "-m", "tests.support.dispatch_child", overlay_url, str(port), channel], cwd=ROOT, capture_output=True, text=True, timeout=120
            )
            assert final.returncode == 0, final.stderr
            with overlay.connect() as conn:
                rows = conn.execute(sa.select(outbox.c.key, outbox.c.status, outbox.c.claimed_by)).all()
            if all(r.status not in ("queued", "sending") and r.claimed_by is None for r in rows) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    print(f"{kills} kills in {rounds} rounds: {dict(collections.Counter(r.status for r in rows))}")
    return rows, rounds


def check_at_most_once(rows: list[Any], rounds: int, arrived: collections.Counter[str], key_of: Callable[[str], str]) -> collections.Counter[str]:
    """Every row sent, unknown, failed or suppressed; a sent one arrived once, an unknown one at most once, nothing else arrived."""
    by_status = collections.Counter(r.status for r in rows)
    assert len(rows) == rounds * PER_ROUND and set(by_status) <= {"sent", "unknown", "failed", "suppressed"}, by_status
    assert max(arrived.values()) == 1, "a message arrived twice"
    for row in rows:
        times = arrived.pop(key_of(row.key), 0)
        expected = {"sent": {1}, "unknown": {0, 1}, "failed": {0}, "suppressed": {0}}[row.status]
        assert times in expected, f"{row.key} is {row.status} and arrived {times} times"
    assert not arrived, "messages arrived that the outbox does not show as sent or unknown"
    assert all(r.key.endswith("-0") for r in rows if r.status in ("failed", "suppressed")), "only the refused recipient's messages failed"
    return by_status


@pytest.mark.slow
def test_dispatchers_killed_at_random_never_send_a_message_twice(overlay_url: str) -> None:
    with LoopbackSmtp(refuse={"nincs@vevo.hu"}, answer_after=0.004) as smtp:
        rows, rounds = kill_rounds(overlay_url, smtp.port, "email", lambda r, i: email(f"r{r}-{i}", "nincs@vevo.hu" if i == 0 else f"v{r}-{i}@vevo.hu"))
    arrived = collections.Counter(r.message["Message-ID"] for r in smtp.received)
    by_status = check_at_most_once(rows, rounds, arrived, lambda key: message_id(key, SENDER.rpartition("@")[2]))
    assert by_status["suppressed"] >= 1, "after its first hard bounce the refused address is struck out"


def gateway_answer(request: Request) -> Reply:
    """A gateway that takes a moment between reading a message and answering (the window a kill should land in); one number it refuses."""
    if not taken(request):
        return Reply(400, '{"error": "invalid number or a request cut short"}')
    return Reply(200, json.dumps({"status": "queued", "id": "gw-" + request.headers["idempotency-key"]}), delay=0.004)


@pytest.mark.slow
def test_sms_dispatchers_killed_at_random_never_send_a_text_twice(overlay_url: str) -> None:
    with LoopbackGateway(gateway_answer) as gateway:
        rows, rounds = kill_rounds(overlay_url, gateway.port, "sms", lambda r, i: sms(f"r{r}-{i}", REFUSED_NUMBER if i == 0 else f"+3630{r:03d}{i:04d}"))
        arrived = collections.Counter(r.headers["idempotency-key"] for r in gateway.received if taken(r))
    check_at_most_once(rows, rounds, arrived, lambda key: key)


def taken(request: Request) -> bool:
    """Whether the gateway takes the message: a whole JSON body (a dispatcher killed mid-request leaves it cut short) to a number it serves."""
    try:
        return bool(request.json()["to"] != REFUSED_NUMBER)
    except ValueError:
        return False

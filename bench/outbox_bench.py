"""Outbox benchmark: how fast `dispatch` hands queued e-mails to an SMTP server, beside a
bare smtplib loop that sends the same messages to the same kind of server in the same run.

    .venv/bin/python bench/outbox_bench.py                # 10,000 messages, 3 rounds, SQLite overlay
    .venv/bin/python bench/outbox_bench.py --quick        # 1,000 messages
    .venv/bin/python bench/outbox_bench.py --postgresql postgresql+psycopg://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/outbox_bench.py --quick --profile --json

Measures, in one run, each side a few times interleaved (`--rounds`; the best of each
counts, since the machine is shared and noisy):

- *dispatch*: N e-mails (a Hungarian subject, a text and an HTML body of 1-2 KB each,
  a one-click unsubscribe link) built and enqueued as a chain step decides them (the
  message kept in `crm_outbox.mime`) into a fresh SQLite overlay before timing starts; then `dispatch(overlay, OutboxSection(), {"email": EmailSender(...)})`
  is timed alone: messages per second (wall) and CPU seconds per message of this process;
- *bare smtplib*: the same N messages built with `build_email` before timing, sent over
  one `smtplib.SMTP` connection with `send_message`: the least any sender of these
  messages does (serialise, MAIL, RCPT, DATA), with nothing recorded anywhere;
- with `--postgresql URL`, the same dispatch on a PostgreSQL overlay in a database of
  its own (`erp_crm_bench_outbox_<pid>`, created on that server and dropped at the end).

The SMTP server (aiosmtpd, on 127.0.0.1) runs in a child process, so that its CPU is not
counted as the sender's; it accepts every message and counts them, and after each run
the benchmark checks that it received exactly the messages that were sent, each once
(by Message-ID), and that no Message-ID arrived twice over all dispatch runs. A failed
check stops the benchmark with an error: a fast dispatcher that loses or repeats mail
is not a result.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import json
import os
import pstats
import random
import re
import resource
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/ itself, for benchlib
from benchlib import admin_sql, engine_version, machine

from erp_crm.automation.dispatch import DispatchReport, dispatch
from erp_crm.automation.email_builder import EmailBuilder
from erp_crm.automation.email_channel import EmailSender
from erp_crm.automation.email_message import Party, build_email, message_id
from erp_crm.automation.outbox import Outgoing, enqueue, utc_now
from erp_crm.model.tables.outbox import communication, outbox
from erp_crm.settings.sending import EmailSection, OutboxSection
from erp_crm.store.overlay import Overlay

HERE = Path(__file__).resolve().parent
SENDER = "hirlevel@pelda.hu"
SENDER_NAME = "Példa Kft."
BARE = "bare smtplib"
TARGET = 0.5  # dispatch ÷ bare smtplib, messages per second

# -- the messages ---------------------------------------------------------------------

NAMES = (
    "Kovács Anna", "Nagy Péter", "Szabó Éva", "Tóth Gábor", "Horváth Zsófia", "Varga László",
    "Kiss Ildikó", "Molnár Ádám", "Németh Katalin", "Farkas Bence", "Balogh Őrs", "Papp Tünde",
)  # fmt: skip
DOMAINS = ("pelda-vevo.hu", "vevo.hu", "ugyfel-pelda.hu", "posta-pelda.hu")
TOWNS = ("Budapest", "Debrecen", "Szeged", "Miskolc", "Pécs", "Győr", "Nyíregyháza", "Kecskemét")
ITEMS = (
    "szivattyú 1,5 kW", "szűrőbetét (3 db)", "tömítőgyűrű-készlet", "kábel 3x1,5 mm², 25 m", "csavarkészlet M8",
    "kerti tömlő 20 m", "fűnyíró damil", "öntözőfej", "zuhanyszett", "mosogatótálca",
)  # fmt: skip
SUBJECTS = (
    "Rég nem láttuk, {first}! {discount}% kedvezmény csak Önnek",
    "Köszönjük a vásárlást – {points} hűségpont vár Önre",
    "Tavaszi ajánlatunk a {town}i üzletből",
    "Emlékeztető: kedvezménye {deadline}-ig érvényes",
)


@dataclass(frozen=True)
class Content:
    """One message as a chain step would have rendered it; keys are added per run, so every run sends new Message-IDs."""

    recipient: str
    name: str
    subject: str
    text: str
    html: str
    unsubscribe_url: str


def _forint(value: int) -> str:
    return f"{value:,}".replace(",", "\u00a0")


def content(i: int, rnd: random.Random) -> Content:
    """A win-back e-mail of the usual size: about 1 KB of text and 1.6 KB of HTML, accents throughout."""
    name = rnd.choice(NAMES)
    first = name.split()[1]
    town = rnd.choice(TOWNS)
    discount = rnd.choice((5, 10, 15))
    deadline = (dt.date(2026, 3, 1) + dt.timedelta(days=rnd.randint(0, 60))).strftime("%Y. %m. %d.")
    last = (dt.date(2025, 1, 1) + dt.timedelta(days=rnd.randint(0, 300))).strftime("%Y. %m. %d.")
    code = f"VISSZA{rnd.randint(10000, 99999)}"
    token = f"{rnd.getrandbits(96):024x}"
    unsubscribe = f"https://crm.pelda.hu/leiratkozas/{token}"
    offers = []
    for item in rnd.sample(ITEMS, 4):
        price = rnd.randint(20, 900) * 100
        offers.append((item, price, price * (100 - discount) // 100))
    subject = rnd.choice(SUBJECTS).format(first=first, discount=discount, points=rnd.randint(50, 900), town=town, deadline=deadline)
    text_offers = "\n".join(f"  - {item}: {_forint(price)} Ft helyett {_forint(sale)} Ft" for item, price, sale in offers)
    text = (
        f"Kedves {first}!\n\n"
        f"Rég járt nálunk: utoljára {last} napján vásárolt a {town}i üzletünkben. Összegyűjtöttük, mi újság "
        f"azóta, és mivel Ön régi vásárlónk, {discount}% kedvezményt adunk a következő rendelésére.\n\n"
        f"A korábban vásárolt termékeihez illő ajánlataink:\n{text_offers}\n\n"
        f"A kedvezményt a {code} kóddal váltja be a webáruházban vagy bármelyik üzletünkben, {deadline}-ig.\n"
        "Ha kérdése van, válaszoljon erre a levélre, vagy hívja ügyfélszolgálatunkat munkanapokon 8 és 17 óra "
        "között a +36 1 234 5678 számon.\n\n"
        "Üdvözlettel:\nPélda Kft. ügyfélszolgálata\n1051 Budapest, Széchenyi István tér 7–8.\n\n"
        f"Ha nem szeretne több ilyen levelet kapni, itt leiratkozhat: {unsubscribe}\n"
    )
    html_offers = "".join(
        f'<tr><td style="padding:4px 8px">{item}</td><td style="padding:4px 8px;text-decoration:line-through">{_forint(price)} Ft</td>'
        f'<td style="padding:4px 8px;font-weight:bold;color:#b00">{_forint(sale)} Ft</td></tr>'
        for item, price, sale in offers
    )
    html = (
        '<!DOCTYPE html><html lang="hu"><head><meta charset="utf-8"><title>Példa Kft.</title></head>'
        '<body style="font-family:Arial,sans-serif;color:#222">'
        f"<p>Kedves {first}!</p>"
        f"<p>Rég járt nálunk: utoljára {last} napján vásárolt a {town}i üzletünkben. Mivel Ön régi vásárlónk, "
        f"<strong>{discount}% kedvezményt</strong> adunk a következő rendelésére.</p>"
        f'<table style="border-collapse:collapse">{html_offers}</table>'
        f"<p>A kedvezményt a <strong>{code}</strong> kóddal váltja be, {deadline}-ig.</p>"
        "<p>Kérdése van? Válaszoljon erre a levélre, vagy hívjon minket: +36 1 234 5678.</p>"
        "<p>Üdvözlettel:<br>Példa Kft. ügyfélszolgálata<br>1051 Budapest, Széchenyi István tér 7–8.</p>"
        f'<p style="font-size:11px;color:#888"><a href="{unsubscribe}">Leiratkozás</a></p></body></html>'
    )
    return Content(f"vevo.{i}@{rnd.choice(DOMAINS)}", name, subject, text, html, unsubscribe)


def contents(n: int, seed: int) -> list[Content]:
    rnd = random.Random(seed)
    return [content(i, rnd) for i in range(n)]


def key_of(run: str, i: int) -> str:
    return f"bench/{run}/{i}"


def outgoing(run: str, messages: list[Content], builder: EmailBuilder) -> list[Outgoing]:
    """The messages as a chain step decides them, under keys of their own run: rendered, and built as they will go over SMTP."""
    out = []
    for i, m in enumerate(messages):
        key = key_of(run, i)
        built = builder.build(key=key, to=m.recipient, name=m.name, subject=m.subject, text=m.text, html=m.html, unsubscribe_url=m.unsubscribe_url)
        out.append(
            Outgoing(
                key=key,
                channel="email",
                origin="outbox benchmark",
                recipient=m.recipient,
                recipient_name=m.name,
                subject=m.subject,
                body=m.text,
                html=m.html,
                unsubscribe_url=m.unsubscribe_url,
                mime=built.as_bytes().decode("ascii"),
            )
        )
    return out


def prebuilt(run: str, messages: list[Content]) -> list[tuple[EmailMessage, str]]:
    """The same messages built as the e-mail channel builds them (`EmailSender.prepare`), with their recipients."""
    sender = Party(SENDER, SENDER_NAME)
    return [
        (
            build_email(
                sender=sender,
                to=Party(m.recipient, m.name),
                subject=m.subject,
                text=m.text,
                html=m.html,
                key=key_of(run, i),
                unsubscribe_url=m.unsubscribe_url,
            ),
            m.recipient,
        )
        for i, m in enumerate(messages)
    ]


def expected_ids(run: str, n: int) -> set[str]:
    domain = SENDER.rpartition("@")[2]
    return {message_id(key_of(run, i), domain) for i in range(n)}


# -- the SMTP server, in a process of its own -----------------------------------------

_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)


class _Counter:
    """aiosmtpd's handler: takes every message at once, and notes its size and Message-ID."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ids: list[str] = []
        self.size = 0
        self.cpu = time.process_time()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd calls its hooks by these names
        data = bytes(envelope.original_content or envelope.content)
        found = _MESSAGE_ID.search(data.split(b"\r\n\r\n", 1)[0])
        with self.lock:
            self.ids.append(found.group(1).decode("ascii", "replace") if found else "")
            self.size += len(data)
        return "250 2.0.0 OK"

    def take(self) -> dict[str, Any]:
        """What arrived since the last call, and this process's CPU seconds meanwhile."""
        with self.lock:
            ids, size, self.ids, self.size = self.ids, self.size, [], 0
        cpu, self.cpu = self.cpu, time.process_time()
        return {"messages": len(ids), "ids": ids, "bytes": size, "cpu": self.cpu - cpu}


def serve_smtp() -> None:
    """The child's side: print the port, then answer `take` on stdin with one JSON line, until stdin closes."""
    from aiosmtpd.controller import Controller

    counter = _Counter()
    controller = Controller(counter, hostname="127.0.0.1", port=_free_port(), server_hostname="smtp.bench.localhost")
    controller.start()
    print(json.dumps({"port": controller.port}), flush=True)
    try:
        for line in sys.stdin:
            if line.strip() == "take":
                print(json.dumps(counter.take()), flush=True)
    finally:
        controller.stop()


def _free_port() -> int:
    """A port free on 127.0.0.1 now (aiosmtpd's start-up check needs a known port, not 0)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Received:
    """What the server took since it was last asked, and the CPU it spent meanwhile."""

    messages: int
    ids: list[str]
    bytes: int
    cpu: float


class SmtpServerProcess:
    """The parent's side: `with SmtpServerProcess() as server:` a counting server on 127.0.0.1:`server.port`."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--smtp-server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.port = int(json.loads(self._line())["port"])

    def _line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the SMTP server process ended ({self.proc.wait()})")
        return line

    def take(self) -> Received:
        """What the server received since the last call."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("take\n")
        self.proc.stdin.flush()
        return Received(**json.loads(self._line()))

    def __enter__(self) -> SmtpServerProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class CheckFailed(Exception):
    """The server did not receive what was sent: the run's figures mean nothing."""


def check_received(what: str, got: Received, expected: set[str]) -> None:
    """Exactly the expected messages arrived, each once."""
    if got.messages != len(expected):
        raise CheckFailed(f"{what}: {len(expected):,} messages sent, the server received {got.messages:,}")
    ids = set(got.ids)
    if len(ids) != got.messages:
        raise CheckFailed(f"{what}: {got.messages - len(ids):,} Message-IDs arrived more than once")
    if ids != expected:
        raise CheckFailed(f"{what}: {len(expected - ids):,} expected Message-IDs missing, {len(ids - expected):,} unexpected")


# -- measuring ------------------------------------------------------------------------


@dataclass
class Usage:
    """Wall and CPU time of this process: CPU is what the sender itself spends, wall includes waiting for the server."""

    wall: float
    cpu: float
    user: float
    system: float

    @classmethod
    def now(cls) -> Usage:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return cls(time.perf_counter(), time.process_time(), r.ru_utime, r.ru_stime)

    def since(self, start: Usage) -> Usage:
        return Usage(self.wall - start.wall, self.cpu - start.cpu, self.user - start.user, self.system - start.system)


@dataclass
class Run:
    """One timed run of one side, with what the server saw of it."""

    round: int
    messages: int
    usage: Usage
    server_cpu: float
    wire_bytes: int
    enqueue_seconds: float | None = None

    @property
    def rate(self) -> float:
        return self.messages / self.usage.wall

    @property
    def cpu_per_message(self) -> float:
        return self.usage.cpu / self.messages


@dataclass
class Side:
    """All runs of one side; the best of each figure counts, since noise only ever makes a run slower."""

    name: str
    runs: list[Run] = field(default_factory=list)

    def best_rate(self) -> float:
        return max(r.rate for r in self.runs)

    def best_cpu(self) -> float:
        return min(r.cpu_per_message for r in self.runs)

    def best_server_cpu(self) -> float:
        return min(r.server_cpu / r.messages for r in self.runs)


def send_bare(port: int, messages: list[tuple[EmailMessage, str]]) -> Usage:
    """The baseline: prebuilt messages over one connection, as plain as smtplib gets (connect and QUIT included, as in dispatch)."""
    start = Usage.now()
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        for message, recipient in messages:
            smtp.send_message(message, SENDER, [recipient])
    return Usage.now().since(start)


def email_section(port: int) -> EmailSection:
    return EmailSection.model_validate({"sender": SENDER, "sender_name": SENDER_NAME, "smtp": {"host": "127.0.0.1", "port": port, "security": "none"}})


def enqueue_all(overlay: Overlay, messages: list[Outgoing], section: OutboxSection) -> float:
    """Put the messages in the outbox (one transaction, as a chain run would); seconds taken, not part of the rate."""
    start = time.perf_counter()
    now = utc_now()
    with overlay.begin() as conn:
        for message in messages:
            enqueue(conn, message, now=now, expire_after=section.expire_after)
    if overlay.dialect == "postgresql":
        with overlay.begin() as conn:  # autovacuum would have analysed a queue this size before a dispatcher saw it
            conn.exec_driver_sql("ANALYZE crm_outbox")
    return time.perf_counter() - start


def check_dispatched(what: str, overlay: Overlay, report: DispatchReport, n: int) -> None:
    """Every message was sent and recorded as sent, and nothing else happened."""
    others = {k: v for k, v in report.as_dict().items() if k != "sent" and v not in (0, None, {})}
    if report.sent != n or others:
        raise CheckFailed(f"{what}: dispatch sent {report.sent:,} of {n:,}; {others}")
    with overlay.connect() as conn:
        sent = conn.execute(sa.select(sa.func.count()).select_from(outbox).where(outbox.c.status == "sent")).scalar_one()
        logged = conn.execute(sa.select(sa.func.count()).select_from(communication)).scalar_one()
    if (sent, logged) != (n, n):
        raise CheckFailed(f"{what}: {sent:,} outbox rows sent and {logged:,} logged, for {n:,} messages")


class OverlayPlace:
    """Where a dispatch run's overlay lives; `fresh` gives an empty outbox at the newest schema."""

    name = ""

    def fresh(self, label: str) -> Overlay:
        raise NotImplementedError

    def close(self) -> None:
        """Drop what `fresh` created."""


class SqlitePlace(OverlayPlace):
    name = "SQLite overlay"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def fresh(self, label: str) -> Overlay:
        """A new file per run: every run starts from the same empty database."""
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        overlay = Overlay.open(sa.engine.make_url(f"sqlite:///{self.folder / f'{label}.sqlite'}"), at_head=False)
        overlay.upgrade()
        return overlay


class PostgresPlace(OverlayPlace):
    name = "PostgreSQL overlay"

    def __init__(self, server_url: str) -> None:
        self.server = sa.engine.make_url(server_url)
        self.database = f"erp_crm_bench_outbox_{os.getpid()}"
        self.url = self.server.set(database=self.database)
        self._admin(f'DROP DATABASE IF EXISTS "{self.database}"')  # also says at once when the server cannot be reached

    def _admin(self, *statements: str) -> None:
        admin_sql(self.server, *statements)

    def fresh(self, label: str) -> Overlay:
        """The benchmark's database made anew for each run, as SQLite gets a new file: no run inherits another's dead rows."""
        self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)', f'CREATE DATABASE "{self.database}"')
        overlay = Overlay.open(self.url, at_head=False)
        overlay.upgrade()
        return overlay

    def close(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')


@dataclass
class Bench:
    args: argparse.Namespace
    server: SmtpServerProcess
    messages: list[Content]
    places: list[OverlayPlace]
    sides: dict[str, Side] = field(default_factory=dict)
    dispatched_ids: set[str] = field(default_factory=set)
    build_cpu: float = 0.0  # build_email's CPU per message, timed while the bare loop's messages are built

    def log(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def run_bare(self, round_no: int, ready: list[tuple[EmailMessage, str]]) -> None:
        self.server.take()  # nothing should be pending; start the server's CPU count here
        usage = send_bare(self.server.port, ready)
        got = self.server.take()
        check_received(f"{BARE}, round {round_no}", got, expected_ids("bare", len(ready)))
        self._keep(BARE, Run(round_no, len(ready), usage, got.cpu, got.bytes))

    def run_dispatch(self, round_no: int, place: OverlayPlace) -> None:
        run_label = f"{place.name.split()[0].lower()}-{round_no}"
        what = f"{place.name} dispatch, round {round_no}"
        section = OutboxSection()
        overlay = place.fresh(run_label)
        try:
            enqueue_s = enqueue_all(overlay, outgoing(run_label, self.messages, EmailBuilder.of(email_section(self.server.port))), section)
            sender = EmailSender(email_section(self.server.port))
            self.server.take()
            start = Usage.now()
            report = dispatch(overlay, section, {"email": sender})
            usage = Usage.now().since(start)
            got = self.server.take()
            check_dispatched(what, overlay, report, len(self.messages))
        finally:
            overlay.close()
        check_received(what, got, expected_ids(run_label, len(self.messages)))
        twice = self.dispatched_ids.intersection(got.ids)
        if twice:
            raise CheckFailed(f"{what}: {len(twice):,} Message-IDs had arrived in an earlier dispatch run")
        self.dispatched_ids.update(got.ids)
        self._keep(place.name, Run(round_no, len(self.messages), usage, got.cpu, got.bytes, enqueue_s))

    def _keep(self, side: str, run: Run) -> None:
        self.sides.setdefault(side, Side(side)).runs.append(run)
        self.log(
            f"  round {run.round}, {side}: {run.rate:,.0f} messages/s, {run.cpu_per_message * 1e6:,.0f} µs CPU per message "
            f"(server {run.server_cpu / run.messages * 1e6:,.0f} µs)"
        )

    def run(self) -> None:
        """The rounds, each side once per round, the order reversed every other round so that no side always goes first."""
        start = time.process_time()
        ready = prebuilt("bare", self.messages)
        self.build_cpu = (time.process_time() - start) / len(ready)
        steps: list[OverlayPlace | None] = [None, *self.places]  # None: the bare loop
        for round_no in range(1, self.args.rounds + 1):
            self.log(f"round {round_no} of {self.args.rounds}")
            for place in steps if round_no % 2 else reversed(steps):
                if place is None:
                    self.run_bare(round_no, ready)
                else:
                    self.run_dispatch(round_no, place)


# -- results --------------------------------------------------------------------------


@dataclass
class Row:
    setup: str
    measure: str
    value: str
    baseline: str = "—"
    ratio: str = "—"
    target: str = "—"
    met: str = "—"
    rounds: str = ""


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _µs(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs"


def rows(bench: Bench) -> list[Row]:
    bare = bench.sides[BARE]
    n, rounds = len(bench.messages), bench.args.rounds
    size = sum(r.wire_bytes for r in bare.runs) / sum(r.messages for r in bare.runs)
    out = [
        Row(BARE, f"messages/s ({n:,} prebuilt, one connection; best of {rounds})", f"{bare.best_rate():,.0f}", rounds=_each(bare, "rate")),
        Row(BARE, "CPU per message (this process)", _µs(bare.best_cpu()), rounds=_each(bare, "cpu")),
        Row(BARE, "SMTP server CPU per message (its own process)", _µs(bare.best_server_cpu()), f"{size:,.0f} bytes per message on the wire"),
        Row(BARE, "build_email, CPU per message (before timing on both sides: a chain step builds it when deciding)", _µs(bench.build_cpu)),
    ]
    for place in bench.places:
        side = bench.sides[place.name]
        ratio = side.best_rate() / bare.best_rate()
        enqueue_s = min(r.enqueue_seconds or 0.0 for r in side.runs)
        out += [
            Row(
                place.name,
                f"dispatch, messages/s ({n:,}; best of {rounds})",
                f"{side.best_rate():,.0f}",
                f"{bare.best_rate():,.0f} ({BARE})",
                f"{ratio:.2f}",
                f"≥ {TARGET}",
                _met(ratio >= TARGET),
                _each(side, "rate"),
            ),
            Row(
                place.name,
                "dispatch, CPU per message (this process)",
                _µs(side.best_cpu()),
                f"{_µs(bare.best_cpu())} ({BARE})",
                f"{side.best_cpu() / bare.best_cpu():.1f}×",
                rounds=_each(side, "cpu"),
            ),
            Row(place.name, "SMTP server CPU per message (its own process)", _µs(side.best_server_cpu()), f"{_µs(bare.best_server_cpu())} ({BARE})"),
            Row(
                place.name,
                "CPU of sender and server per message (less moved by other load than wall time; the database server's own work not counted)",
                _µs(side.best_cpu() + side.best_server_cpu()),
                f"{_µs(bare.best_cpu() + bare.best_server_cpu())} ({BARE})",
                f"{(bare.best_cpu() + bare.best_server_cpu()) / (side.best_cpu() + side.best_server_cpu()):.2f}",
            ),
            Row(place.name, f"enqueue {n:,} before timing (not in the rate)", f"{enqueue_s:.2f} s"),
        ]
    runs = sum(len(s.runs) for s in bench.sides.values())
    out.append(
        Row(
            "all",
            "the server received every message of every run once (count, Message-IDs; none twice over the dispatch runs)",
            f"{runs} runs × {n:,}: yes",
            target="exactly once",
            met="yes",
        )
    )
    return out


def _each(side: Side, what: str) -> str:
    """Every round's figure, so the noise shows."""
    if what == "rate":
        return ", ".join(f"{r.rate:,.0f}" for r in side.runs)
    return ", ".join(f"{r.cpu_per_message * 1e6:,.0f}" for r in side.runs) + " µs"


def table(found: list[Row]) -> str:
    head = ["setup", "measure", "value", "baseline (same run)", "ratio", "target", "met?", "each round"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in found:
        lines.append(f"| {r.setup} | {r.measure} | {r.value} | {r.baseline} | {r.ratio} | {r.target} | {r.met} | {r.rounds} |")
    return "\n".join(lines)


# -- profile --------------------------------------------------------------------------


def profile_dispatch(bench: Bench, workdir: Path, top: int) -> str:
    """One more dispatch on a fresh SQLite overlay under cProfile: where the dispatcher's time goes."""
    place = SqlitePlace(workdir / "profile")
    overlay = place.fresh("profile")
    try:
        enqueue_all(overlay, outgoing("profile", bench.messages, EmailBuilder.of(email_section(bench.server.port))), OutboxSection())
        sender = EmailSender(email_section(bench.server.port))
        bench.server.take()
        profiler = cProfile.Profile()
        report = profiler.runcall(dispatch, overlay, OutboxSection(), {"email": sender})
        check_dispatched("profiled dispatch", overlay, report, len(bench.messages))
    finally:
        overlay.close()
    check_received("profiled dispatch", bench.server.take(), expected_ids("profile", len(bench.messages)))
    return profile_tables(pstats.Stats(profiler), len(bench.messages), top)


_SHORT = re.compile(r"^.*?(site-packages/|/lib/python3\.\d+/|" + re.escape(str(HERE.parent) + "/") + ")")  # paths as the package or the stdlib names them


def profile_tables(stats: pstats.Stats, n: int, top: int) -> str:
    """Functions by time including callees, then by own time; cProfile slows Python code more than C, so read them as a ranking."""
    entries = stats.stats  # type: ignore[attr-defined]
    total = max(sum(tt for _cc, _nc, tt, _ct, _callers in entries.values()), 1e-9)

    def name(func: tuple[str, int, str]) -> str:
        file, line, fn = func
        return f"{_SHORT.sub('', file)}:{line}({fn})"

    def ranked(column: int, title: str) -> list[str]:
        lines = [f"| {title} | % | µs per message | calls | function |", "|---|---|---|---|---|"]
        for func, v in sorted(entries.items(), key=lambda kv: -kv[1][column])[:top]:
            lines.append(f"| {v[column]:.2f} s | {v[column] / total:.0%} | {v[column] / n * 1e6:,.0f} | {v[1]:,} | {name(func)} |")
        return lines

    head = f"### Profile: dispatch of {n:,} messages, SQLite overlay ({total:.2f} s under cProfile)"
    return "\n".join([head, "", *ranked(3, "with callees"), "", *ranked(2, "own time")])


# -- main -----------------------------------------------------------------------------


@contextmanager
def overlay_places(args: argparse.Namespace, workdir: Path) -> Iterator[list[OverlayPlace]]:
    places: list[OverlayPlace] = [SqlitePlace(workdir / "sqlite")]
    if args.postgresql:
        places.append(PostgresPlace(args.postgresql))
    try:
        yield places
    finally:
        for place in places:
            place.close()


def report_json(bench: Bench, found: list[Row], header: dict[str, Any], profile: str | None) -> str:
    sides = {
        name: {
            "best": {"messages_per_s": side.best_rate(), "cpu_s_per_message": side.best_cpu(), "server_cpu_s_per_message": side.best_server_cpu()},
            "runs": [asdict(r) | {"messages_per_s": r.rate, "cpu_s_per_message": r.cpu_per_message} for r in side.runs],
        }
        for name, side in bench.sides.items()
    }
    ratios = {p.name: bench.sides[p.name].best_rate() / bench.sides[BARE].best_rate() for p in bench.places}
    return json.dumps(
        header
        | {
            "target": TARGET,
            "ratios": ratios,
            "build_email_cpu_s_per_message": bench.build_cpu,
            "sides": sides,
            "rows": [asdict(r) for r in found],
            "profile": profile,
        },
        indent=2,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000, help="messages per run (default 10,000)")
    parser.add_argument("--quick", action="store_true", help="1,000 messages")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each side, interleaved; the best counts (default 3)")
    parser.add_argument("--postgresql", metavar="URL", help="also dispatch from a PostgreSQL overlay in a database created on this server")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="also run one dispatch on SQLite under cProfile and print where the time goes")
    parser.add_argument("--profile-top", type=int, default=25)
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    parser.add_argument("--smtp-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.smtp_server:
        serve_smtp()
        return 0
    if args.quick:
        args.messages = 1_000
    if args.messages < 1 or args.rounds < 1:
        parser.error("--messages and --rounds must be at least 1")

    version = engine_version()
    workdir = Path(tempfile.mkdtemp(prefix="erpcrm-outbox-bench-"))
    messages = contents(args.messages, args.seed)
    profile = None
    try:
        with SmtpServerProcess() as server, overlay_places(args, workdir) as places:
            bench = Bench(args, server, messages, places)
            bench.log(f"SMTP server on 127.0.0.1:{server.port} (pid {server.proc.pid}); work folder {workdir}; {version}")
            bench.run()
            if args.profile:
                bench.log("profiling one dispatch on SQLite")
                profile = profile_dispatch(bench, workdir, args.profile_top)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    found = rows(bench)
    header = {"date": dt.date.today().isoformat(), "machine": machine(), "engine": version, "messages": args.messages, "rounds": args.rounds}
    if args.json:
        print(report_json(bench, found, header, profile))
    else:
        print(f"\nOutbox benchmark, {header['date']}, {args.messages:,} messages, {args.rounds} rounds; {machine()}; {version}\n")
        print(table(found))
        if profile:
            print("\n" + profile)
    return 0 if all(r.met != _met(False) for r in found) else 1


if __name__ == "__main__":
    sys.exit(main())

"""What every settings section shares: strict keys, immutability, durations, paths and URLs."""

from __future__ import annotations

import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, PrivateAttr
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}")  # IANA names: Europe/Budapest, America/Argentina/Salta
MOST_HOST = 253  # the longest name DNS carries
MOST_LABEL = 63  # the longest part between dots


class Section(BaseModel):
    """A settings section: unknown keys are mistakes, and nothing changes a section once loaded.

    Frozen, because one settings object is shared by everything a process runs (a web
    app, a scheduler): a service that tweaked its section would change it for the others.
    NaN and infinity are refused: NaN passes every bound (it compares false with
    everything), so `.nan` would otherwise slip through as an RFM cut point or a weight.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Located(Section):
    """A section whose relative paths and error messages refer to the home it was loaded from.

    The home is not a key of the section (a settings file must not say where it lives), so
    the loader sets it after validation; `located_in` is the only place that does.
    """

    _home: Path = PrivateAttr(default=Path("."))
    _origin: str = PrivateAttr(default="settings")

    def located_in(self, home: Path, origin: str) -> None:
        self._home = home
        self._origin = origin

    @property
    def home(self) -> Path:
        return self._home

    @property
    def origin(self) -> str:
        """The settings file this section came from, for messages that name a key in it."""
        return self._origin


def parse_duration(text: str | int) -> int:
    """`10m` → 600 seconds; a bare number is seconds."""
    if isinstance(text, int):
        return text
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError("expected a duration such as 30s, 10m, 2h or 1d")
    return int(match.group(1)) * _UNITS[match.group(2)]


def check_time_zone(value: str) -> str:
    """An IANA time zone name this machine knows, or a ValueError naming it (checked by shape first: a path is not a zone)."""
    try:
        if len(value) > 64 or not _ZONE_NAME.fullmatch(value):
            raise ValueError(value)
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name the file system refuses
        raise ValueError(f"{value!r} is not a time zone name such as Europe/Budapest") from None
    return value


def resolve_path(home: Path, value: str) -> Path:
    """Paths in settings are relative to the home, not to the current directory."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else home / path


def check_host(host: str) -> str:
    """A host name the resolver takes, or a ValueError saying what is wrong with it.

    Python encodes every host name with its IDNA codec before a lookup (socket, smtplib and
    the database drivers alike), and a name it refuses (a label over 63 characters, an
    empty one, a character IDNA has no code for) raises UnicodeError from deep inside a
    connection, which reads as a bug. Asked here, of the same codec, it is a settings
    mistake naming its key. The labels are measured first only to say which rule is broken.
    """
    if len(host) > MOST_HOST:
        raise ValueError(f"host name longer than {MOST_HOST} characters")
    if any(c.isspace() or not c.isprintable() for c in host):
        raise ValueError(f"host name {host[:60]!r} has a space or a control character in it")
    labels = host.removesuffix(".").split(".")  # one trailing dot is a fully qualified name
    if "" in labels:
        raise ValueError(f"host name {host[:60]!r} has an empty label (a leading dot, or two dots in a row)")
    if any(len(label) > MOST_LABEL for label in labels):
        raise ValueError(f"host name label longer than {MOST_LABEL} characters")
    try:
        host.encode("idna")
    except UnicodeError as exc:
        raise ValueError(f"{host[:60]!r} is not a host name that can be looked up ({exc.__cause__ or exc})") from None
    return host


def check_url(value: str) -> str:
    """A database URL SQLAlchemy can read, its host one the resolver takes; else a ValueError saying what is wrong."""
    try:
        url = make_url(value)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        raise ValueError("expected a database URL such as sqlite:///var/crm.sqlite or postgresql+psycopg://user@host/db") from None
    if url.host:
        check_host(url.host)
    return value


def url_has_password(value: object) -> bool:
    """Whether `value` is a database URL with a password in it.

    Settings files and connector definitions are shown, mailed and committed, so a
    password in one is refused; it belongs in the environment or a file of its own.
    """
    if not isinstance(value, str):
        return False
    try:
        return bool(make_url(value).password)
    except (ArgumentError, ValueError):
        return False  # not a URL at all: validation says so


def anchor_sqlite(url: URL, home: Path) -> URL:
    """SQLite paths in settings are relative to the home, not to the current directory."""
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database)
        if not path.is_absolute() and not url.database.startswith("file:"):
            return url.set(database=str(home / path))
    return url

"""The SMS gateway and the webhook endpoints: their secrets are set, and their hosts take a connection.

A connection test only: TCP, and for https the TLS handshake with the certificate checked
as the dispatcher checks it. No HTTP request is made, so no gateway can take it for a
message (many answer any request with a send attempt, or bill it). Only the host and port
are ever shown: a URL may carry a key in its path or query.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit

from erp_crm.automation.sms_channel import SmsSender
from erp_crm.automation.webhook_channel import WebhookSender
from erp_crm.doctor.findings import Check, Finding, Status, ok, skipped, unresolvable
from erp_crm.errors import UnresolvableHost, UserError
from erp_crm.settings.base import MOST_HOST
from erp_crm.settings.root import Settings

PORTS = {"http": 80, "https": 443}
SETTINGS = "correct what the message names: a secret goes in the environment variable it names (docs/sending.md)"


def connection(name: str, key: str, url: str, timeout: float) -> Finding:
    """Whether the host of `url` takes a TCP connection (and, for https, a TLS handshake) within `timeout` seconds."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port or PORTS.get(parts.scheme.lower(), 443)
    except ValueError as exc:  # a port that is no number or out of range, an unclosed [IPv6 bracket
        return Finding(name, Status.FAIL, f"{key}: the URL cannot be read ({exc})", f"correct {key}")
    if not host:
        return Finding(name, Status.FAIL, f"{key}: the URL names no host", f"correct {key}")
    if len(host) > MOST_HOST:
        return Finding(name, Status.FAIL, f"{key}: {host[:60]!r}… is not a host name that can be looked up (over {MOST_HOST} characters)", f"correct {key}")
    where = f"{host}:{port}"
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            if parts.scheme.lower() == "https":
                ssl.create_default_context().wrap_socket(sock, server_hostname=host).close()
    except ssl.SSLError as exc:
        return Finding(
            name,
            Status.FAIL,
            f"{where} ({key}) takes connections, but TLS failed: {exc}",
            f"check that {key} names the gateway's own host and https port; its certificate must be one this machine trusts",
        )
    except UnicodeError as exc:
        return unresolvable(name, UnresolvableHost(key, exc))
    except OSError as exc:
        words = "timed out" if isinstance(exc, TimeoutError) else str(exc) or type(exc).__name__
        return Finding(
            name,
            Status.FAIL,
            f"cannot connect to {where} ({key}): {words}",
            f"check the host and port in {key}, and that this machine may reach it (DNS, firewall)",
        )
    tls = " and completes TLS" if parts.scheme.lower() == "https" else ""
    return ok(name, f"{where} takes connections{tls}; nothing was sent")


def sms(settings: Settings, timeout: float) -> Iterator[Finding]:
    section = settings.sms
    if section.log_folder:
        yield skipped("sms.gateway", f"text messages are written into {section.log_folder} (sms.log_folder), not sent")
        return
    if not section.url:
        yield skipped("sms.gateway", "no text message is sent: sms is not set up")
        return
    try:
        SmsSender(section).close()
    except UserError as exc:
        yield Finding("sms.gateway", Status.FAIL, str(exc), SETTINGS)
        return
    yield connection("sms.gateway", "sms.url", section.url, min(timeout, float(section.timeout)))


def webhooks(settings: Settings, timeout: float) -> Iterator[Finding]:
    if not settings.webhooks:
        yield skipped("webhooks", "no webhook endpoint is set up")
        return
    for name, endpoint in settings.webhooks.items():
        try:
            WebhookSender({name: endpoint}).close()
        except UserError as exc:
            yield Finding(f"webhook.{name}", Status.FAIL, str(exc), SETTINGS)
            continue
        yield connection(f"webhook.{name}", f"webhooks.{name}.url", endpoint.url, min(timeout, float(endpoint.timeout)))


SMS_CHECK = Check("sms", sms, ("sms.gateway",))
WEBHOOKS_CHECK = Check("webhooks", webhooks)

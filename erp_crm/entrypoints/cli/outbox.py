"""`erp-crm outbox`: send what is queued, see what happened, settle what is unclear, stop all sending."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, cast

import click

from erp_crm.entrypoints.cli.context import Context, pass_ctx
from erp_crm.entrypoints.cli.options import Count
from erp_crm.model.tables.outbox import CHANNELS, STATUSES
from erp_crm.queries.outbox import messages, sending_switch, status_counts

if TYPE_CHECKING:
    from erp_crm.automation.outbox import Settle

UNREACHABLE = 3  # the exit code of a dispatch that stopped because a server could not be reached or refused the credentials
CHANNEL_NAMES = {"email": "E-mail", "sms": "SMS", "webhook": "Webhook sending"}


@click.group()
def outbox() -> None:
    """Messages to send, each at most once: dispatch them, list them, settle the unclear ones, pause sending."""


@outbox.command()
@click.option("--limit", type=Count(1, 10_000_000, "messages"), help="Handle at most this many messages, then stop.")
@click.option("--channel", "channels", multiple=True, type=click.Choice(CHANNELS), help="Only this channel (may be repeated); default: all.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_ctx
def dispatch(obj: Context, limit: int | None, channels: tuple[str, ...], as_json: bool) -> None:
    """Send the due messages: e-mail over SMTP, text messages through the SMS gateway, webhooks to their endpoints."""
    from erp_crm.automation.dispatch import dispatch as run_dispatch
    from erp_crm.automation.senders import configured_senders

    settings = obj.settings
    only = channels or CHANNELS
    senders = configured_senders(email=settings.email, sms=settings.sms, webhooks=settings.webhooks, only=only)
    report = run_dispatch(obj.overlay, settings.outbox, senders, limit=limit, consent=settings.consent, only=only)
    click.echo(json.dumps(report.as_dict(), indent=2) if as_json else format_dispatch(report.as_dict()))
    if report.error:
        sys.exit(UNREACHABLE)


def format_dispatch(report: dict[str, Any]) -> str:
    done = ", ".join(f"{report[k]} {k}" for k in ("sent", "deferred", "failed", "unknown", "expired", "suppressed") if report[k])
    lines = [f"outbox: {done or 'nothing was due'}"]
    if report["recovered"]:
        lines.append(f"  {report['recovered']} left 'sending' by a dispatcher that stopped are now unknown: see `erp-crm outbox review`")
    if report["unknown"]:
        lines.append("  unknown messages may have been delivered and are not sent again on their own: see `erp-crm outbox review`")
    if report["throttled"]:
        lines.append(f"  the server asked {report['throttled']} times to slow down")
    for why in ("paused", "stopped", "error"):
        if report[why]:
            lines.append(f"  stopped: {report[why]}")
    for channel, due in report["waiting"].items():
        lines.append(f"  {CHANNEL_NAMES.get(channel, channel)} is not set up: {due} messages wait; see docs/sending.md")
    return "\n".join(lines)


@outbox.command("list")
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES), help="Only messages in this state (may be repeated).")
@click.option("--limit", type=Count(1, 100_000, "messages"), default=20, show_default=True, help="How many of the newest to show.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def list_(obj: Context, statuses: tuple[str, ...], limit: int, as_json: bool) -> None:
    """Messages per state, and the newest messages."""
    with obj.overlay.connect() as conn:
        counts, rows, switch = status_counts(conn), messages(conn, statuses, limit=limit), sending_switch(conn)
    if as_json:
        click.echo(json.dumps({"counts": counts, "messages": rows, "switch": switch}, indent=2, ensure_ascii=False, default=str))
        return
    if switch and switch["paused"]:
        click.echo(f"sending is PAUSED since {switch['changed_at']:%Y-%m-%d %H:%M} UTC{': ' + switch['reason'] if switch['reason'] else ''}")
    for channel, by_status in sorted(counts.items()):
        click.echo(f"{channel}: " + ", ".join(f"{n} {status}" for status, n in sorted(by_status.items())))
    if not counts:
        click.echo("the outbox is empty")
    for row in rows:
        click.echo(_row_line(row))


def _row_line(row: dict[str, Any]) -> str:
    said = row["reason"] or (f"{row['answer_code']} {row['answer']}" if row["answer_code"] else "")
    title = row["subject"] or ""
    line = f"  #{row['id']} {row['status']:<10} {row['channel']:<7} {row['recipient']}  {title[:60]}" + (f"  ({said[:100]})" if said else "")
    return line + (f"  [{row['settled'][:100]}]" if row["settled"] else "")


@outbox.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def review(obj: Context, as_json: bool) -> None:
    """The messages whose delivery is unclear, to check in the mail server's log and settle."""
    with obj.overlay.connect() as conn:
        rows = messages(conn, ("unknown",), limit=1000)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
        return
    if not rows:
        click.echo("no message is unknown")
        return
    click.echo(f"{len(rows)} messages may or may not have been delivered (the server took the content and no answer came):")
    for row in rows:
        click.echo(_row_line(row))
    click.echo("check the mail server's log for each Message-ID, then: erp-crm outbox settle ID... --as sent|resend|failed")


@outbox.command()
@click.argument("ids", nargs=-1, required=True, type=Count(1, 2**31 - 1, "message ids"))
@click.option(
    "--as",
    "as_",
    required=True,
    type=click.Choice(["sent", "resend", "failed"]),
    help="sent: it arrived; failed: it did not and is dropped; resend: send it again.",
)
@click.option("--note", default="", help="Why: what the check found (kept with the message).")
@pass_ctx
def settle(obj: Context, ids: tuple[int, ...], as_: str, note: str) -> None:
    """Settle unknown messages, all of them or none."""
    from erp_crm.automation.outbox import resolve, utc_now

    with obj.overlay.begin() as conn:
        n = resolve(conn, ids, cast("Settle", as_), note, utc_now(), obj.settings.outbox.expire_after)
    click.echo(f"settled {n} messages as {as_}")


@outbox.command()
@click.option("--reason", default="", help="Why, for whoever finds it paused.")
@pass_ctx
def pause(obj: Context, reason: str) -> None:
    """Stop all sending: every dispatcher stops before its next message, until `outbox resume`."""
    _switch(obj, True, reason)
    click.echo("sending is paused; messages stay queued (they expire if paused past their expiry)")


@outbox.command()
@pass_ctx
def resume(obj: Context) -> None:
    """Let the dispatchers send again."""
    _switch(obj, False, "")
    click.echo("sending is resumed")


def _switch(obj: Context, paused: bool, reason: str) -> None:
    from erp_crm.automation.outbox import set_paused, utc_now

    with obj.overlay.begin() as conn:
        set_paused(conn, paused, reason, utc_now())

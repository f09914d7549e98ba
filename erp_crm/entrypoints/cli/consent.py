"""`erp-crm consent`: record a partner's opt-in or opt-out by hand, and show the history that proves it."""

from __future__ import annotations

import json

import click

from erp_crm.entrypoints.cli.context import Context, pass_ctx
from erp_crm.model.tables.consent import CONSENT_CHANNELS
from erp_crm.queries.consent import consent_history


@click.group()
def consent() -> None:
    """Consent per partner and channel: every opt-in and opt-out kept with its source and time."""


@consent.command()
@click.argument("partner")
@click.option("--channel", type=click.Choice(CONSENT_CHANNELS), required=True)
@click.option("--opt-in/--opt-out", "opt_in", required=True, help="What the partner said.")
@click.option("--source", default="cli", show_default=True, help="How it was given: form, phone, letter, import…")
@click.option("--note", default="", help="What shows it: who took it, the wording agreed to, a document number.")
@pass_ctx
def record(obj: Context, partner: str, channel: str, opt_in: bool, source: str, note: str) -> None:
    """Record PARTNER's (an ERP key) opt-in or opt-out on a channel."""
    from erp_crm.automation.chain_store import partner_by_key
    from erp_crm.automation.consent import record as record_consent
    from erp_crm.automation.outbox import utc_now

    with obj.overlay.begin() as conn:
        partner_id = partner_by_key(conn, partner)
        record_consent(conn, partner_id, channel, "opt_in" if opt_in else "opt_out", source, note or None, utc_now())
    click.echo(f"{partner}: {'opted in to' if opt_in else 'opted out of'} {channel} ({source})")


@consent.command()
@click.argument("partner")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def show(obj: Context, partner: str, as_json: bool) -> None:
    """PARTNER's consent history, newest first (the newest per channel is in force)."""
    from erp_crm.automation.chain_store import partner_by_key

    with obj.overlay.connect() as conn:
        rows = consent_history(conn, partner_by_key(conn, partner))
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False, default=str))
        return
    if not rows:
        click.echo(f"{partner}: no consent recorded (consent.require_opt_in decides whether that allows messages)")
    for row in rows:
        click.echo(f"{row['at']:%Y-%m-%d %H:%M} UTC {row['channel']:<5} {row['status']:<7} {row['source']}" + (f": {row['detail']}" if row["detail"] else ""))

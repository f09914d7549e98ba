"""`erp-crm templates`: see a message template as one partner would receive it, before any chain sends it."""

from __future__ import annotations

import json

import click

from erp_crm.entrypoints.cli.context import Context, pass_ctx
from erp_crm.errors import UserError


@click.group()
def templates() -> None:
    """Message templates (templates/messages/<lang>/<name>.yaml)."""


@templates.command()
@click.argument("name")
@click.option("--partner", required=True, help="The ERP key of the partner to render it for.")
@click.option("--lang", type=click.Choice(["hu", "en"]), help="Language. Default: the partner's, else the chains' (chains.language).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def preview(obj: Context, name: str, partner: str, lang: str | None, as_json: bool) -> None:
    """Render NAME for one partner: the e-mail's subject, text and HTML and the text message with its size. Nothing is sent."""
    from erp_crm.automation.chain_store import partner_by_key
    from erp_crm.automation.sms_text import measure
    from erp_crm.automation.step_messages import Templates, recipient
    from erp_crm.automation.trigger_records import empty_trigger

    _check_exists(obj, name)
    with obj.overlay.connect() as conn:
        to = recipient(conn, partner_by_key(conn, partner))
    template = Templates(obj.home).get(name, lang or to.language, lang or obj.settings.chains.language)
    rendered = template.render(
        {
            **to.context,
            "chain": {"name": "preview", "title": "preview"},
            "trigger": empty_trigger(),
            "links": {"unsubscribe": "https://example.invalid/u/preview"},
        }
    )
    shown: dict[str, object] = {"template": str(template.path), "language": template.locale, "email_to": to.email or None, "sms_to": to.phone or None}
    shown |= {k: v for k, v in rendered.__dict__.items() if v is not None}
    if rendered.sms is not None:
        size = measure(rendered.sms)
        shown |= {"sms_encoding": size.encoding, "sms_segments": size.segments, "sms_places": size.places}
    if as_json:
        click.echo(json.dumps(shown, indent=2, ensure_ascii=False))
        return
    for key, value in shown.items():
        text = str(value)
        click.echo(f"{key}:" + ("\n  " + text.replace("\n", "\n  ") if "\n" in text else f" {text}"))


@templates.command("test-send")
@click.argument("name")
@click.option("--partner", required=True, help="The ERP key of the partner to render it for.")
@click.option("--to", "to", required=True, help="Where to send it instead of the partner: an e-mail address or a mobile number.")
@click.option("--channel", type=click.Choice(["email", "sms"]), default="email", show_default=True, help="Which part of the template to send.")
@click.option("--lang", type=click.Choice(["hu", "en"]), help="Language. Default: the partner's, else the chains' (chains.language).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def test_send(obj: Context, name: str, partner: str, to: str, channel: str, lang: str | None, as_json: bool) -> None:
    """Send NAME, rendered for one partner, to --to now, through the configured sender; logged as a test, not counted by the weekly cap."""
    from erp_crm.automation.chain_store import partner_by_key
    from erp_crm.automation.sample_send import send_sample
    from erp_crm.automation.senders import configured_senders
    from erp_crm.automation.step_messages import Templates, recipient

    settings = obj.settings
    _check_exists(obj, name)
    with obj.overlay.connect() as conn:
        partner_id = partner_by_key(conn, partner)
        found = recipient(conn, partner_id)
    template = Templates(obj.home).get(name, lang or found.language, lang or settings.chains.language)
    senders = configured_senders(email=settings.email, sms=settings.sms, webhooks={}, only=(channel,))
    sent = send_sample(
        obj.overlay, template=template, partner=found, partner_id=partner_id, channel=channel, to=to,
        senders=senders, section=settings.outbox, consent=settings.consent,
    )  # fmt: skip
    if as_json:
        click.echo(json.dumps(sent.__dict__, indent=2, ensure_ascii=False))
        return
    click.echo(f"sent the test {channel} of {name} to {sent.to} (outbox #{sent.id})" + (f": {sent.answer}" if sent.answer else ""))


def _check_exists(obj: Context, name: str) -> None:
    from erp_crm.automation.chain_definition import MESSAGES_DIR

    if not (obj.home / MESSAGES_DIR).is_dir() or not any((obj.home / MESSAGES_DIR).glob(f"*/{name}.yaml")):
        raise UserError(f"no template {name!r} in {obj.home / MESSAGES_DIR} (one file per language: <lang>/{name}.yaml)")

"""The webhook step: a chain queues a signed request through the outbox, and a receiver on loopback verifies what arrives."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from erp_crm.automation.chain_definition import Checks, load_chain
from erp_crm.automation.dispatch import dispatch
from erp_crm.automation.tick import tick
from erp_crm.automation.webhook_channel import WebhookSender
from erp_crm.errors import ConfigError
from erp_crm.model.tables.chains import enrolment
from erp_crm.model.tables.outbox import outbox
from erp_crm.settings.gateways import WebhookEndpoint
from erp_crm.settings.sending import ConsentSection, OutboxSection
from tests.support.chain_overlay import T0, chain_overlay, make_home, runtime
from tests.support.http_gateway import LoopbackGateway, Reply, signed_by

KEY = b"0123456789abcdef0123456789abcdef"
SECRET = "whsec_" + base64.b64encode(KEY).decode()
CHAIN = """\
title: VIP hook
trigger: manual
steps:
  - id: tell_crm
    webhook: crm_hook
    payload:
      name: "{{ partner.name }}"
      tier: vip
      note: "{{ partner.name }} <b>\\"x\\"</b>"
"""


@pytest.fixture(autouse=True)
def secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERP_CRM_HOOK_SECRET", SECRET)


def endpoint(url: str, **more: Any) -> dict[str, WebhookEndpoint]:
    return {"crm_hook": WebhookEndpoint(url=url, secret_env="ERP_CRM_HOOK_SECRET", **more)}


verified = signed_by(KEY)


def queue_hooks(overlay: Any, home: Path, url: str, partners: list[int]) -> None:
    from erp_crm.automation.chain_store import enrol
    from erp_crm.automation.tick import publish_all

    hooks = dataclasses.replace(runtime(home), webhooks={"crm_hook": url}, consent=ConsentSection(max_per_week=1))
    with overlay.begin_writing() as conn:
        (published,) = publish_all(conn, hooks, T0, ["vip_hook"])
        enrol(conn, published, partners, "manual:test", T0)
    tick(overlay, hooks, now=T0)


def test_a_chain_webhook_arrives_signed_once_with_only_the_listed_fields(overlay_url: str, tmp_path: Path) -> None:
    home = make_home(tmp_path, {"vip_hook": CHAIN})
    with chain_overlay(overlay_url) as overlay, LoopbackGateway(verified) as receiver:
        queue_hooks(overlay, home, receiver.url + "/hook", [1, 5])
        report = dispatch(overlay, OutboxSection(), {"webhook": WebhookSender(endpoint(receiver.url + "/hook"))}, clock=lambda: T0)
        again = dispatch(overlay, OutboxSection(), {"webhook": WebhookSender(endpoint(receiver.url + "/hook"))}, clock=lambda: T0)
        with overlay.connect() as conn:
            rows = conn.execute(sa.select(outbox.c.key, outbox.c.status, outbox.c.channel, outbox.c.recipient_name).order_by(outbox.c.id)).all()
    assert (report.sent, again.sent) == (2, 0) and len(receiver.received) == 2
    first = receiver.received[0]
    assert first.headers["webhook-id"] == rows[0].key and first.headers["content-type"].startswith("application/json")
    assert first.json() == {
        "chain": "vip_hook",
        "step": "tell_crm",
        "partner_id": 1,
        "data": {"name": "Példa Kft.", "tier": "vip", "note": 'Példa Kft. <b>"x"</b>'},
    }
    assert [(r.status, r.channel, r.recipient_name) for r in rows] == [("sent", "webhook", "crm_hook")] * 2, "the weekly cap does not count webhooks"


def test_a_receiver_that_refuses_the_signature_fails_the_message(overlay_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = make_home(tmp_path, {"vip_hook": CHAIN})
    monkeypatch.setenv("ERP_CRM_HOOK_SECRET", "whsec_" + base64.b64encode(b"another key of 16+ bytes").decode())
    with chain_overlay(overlay_url) as overlay, LoopbackGateway(lambda r: Reply(400, "bad signature") if verified(r).status != 204 else Reply(204)) as receiver:
        queue_hooks(overlay, home, receiver.url, [1])
        report = dispatch(overlay, OutboxSection(), {"webhook": WebhookSender(endpoint(receiver.url))}, clock=lambda: T0)
    assert report.failed == 1 and len(receiver.received) == 1


@pytest.mark.parametrize(("reply", "status"), [(Reply(500, "boom"), "unknown"), (Reply(200, drop=True), "unknown"), (Reply(202), "sent")])
def test_unclear_answers_are_unknown(overlay_url: str, tmp_path: Path, reply: Reply, status: str) -> None:
    home = make_home(tmp_path, {"vip_hook": CHAIN})
    with chain_overlay(overlay_url) as overlay, LoopbackGateway(reply) as receiver:
        queue_hooks(overlay, home, receiver.url, [1])
        dispatch(overlay, OutboxSection(), {"webhook": WebhookSender(endpoint(receiver.url))}, clock=lambda: T0)
        with overlay.connect() as conn:
            assert conn.execute(sa.select(outbox.c.status)).scalar_one() == status


@pytest.mark.parametrize("template", ["{{ partner.__class__ }}", "{{ range(10) }}", "{{ cycler.__init__.__globals__ }}", "{{ partner.items() }}"])
def test_a_payload_cannot_escape_the_sandbox_and_sends_nothing(overlay_url: str, tmp_path: Path, template: str) -> None:
    home = make_home(tmp_path, {"vip_hook": CHAIN.replace("tier: vip", f"tier: '{template}'")})
    with chain_overlay(overlay_url) as overlay:
        queue_hooks(overlay, home, "http://127.0.0.1:9/hook", [1])
        with overlay.connect() as conn:
            queued = conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar_one()
            ended = conn.execute(sa.select(enrolment.c.status, enrolment.c.reason)).one()
    assert queued == 0 and ended.status == "failed" and "webhook payload" in ended.reason


def checks(home: Path, webhooks: frozenset[str]) -> Checks:
    rt = runtime(home)
    return Checks(rt.registry, frozenset({"lapsed", "vip"}), home, T0.date(), webhooks=webhooks)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (CHAIN.replace("crm_hook", "nope"), r"vip_hook\.yaml:5: step tell_crm: no webhook endpoint 'nope' in the settings \(webhooks: crm_hook\)"),
        (CHAIN.replace("tier: vip", "tier: '{% include \"x\" %}'"), r"vip_hook\.yaml:\d+: step tell_crm: tier, template line 1"),
        (CHAIN.replace("tier: vip", "'bad key': vip"), r"vip_hook\.yaml:\d+: step tell_crm: payload field 'bad key'"),
        (CHAIN.replace("    payload:", "    headers: {}\n    payload:"), r"unknown key 'headers' for a webhook step"),
    ],
)
def test_a_wrong_webhook_step_is_one_line_naming_file_line_and_step(tmp_path: Path, text: str, message: str) -> None:
    home = make_home(tmp_path, {"vip_hook": text})
    with pytest.raises(ConfigError, match=message):
        load_chain(home / "jobs" / "chains" / "vip_hook.yaml", checks(home, frozenset({"crm_hook"})))


def test_a_missing_or_short_secret_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ERP_CRM_HOOK_SECRET")
    with pytest.raises(ConfigError, match="webhooks.crm_hook.secret_env: the environment variable ERP_CRM_HOOK_SECRET is empty"):
        WebhookSender(endpoint("https://crm.example/hook"))
    monkeypatch.setenv("ERP_CRM_HOOK_SECRET", "whsec_c2hvcnQ=")
    with pytest.raises(ConfigError, match="at least 16 bytes"):
        WebhookSender(endpoint("https://crm.example/hook"))
    with pytest.raises(ValueError, match="only http"):
        WebhookEndpoint(url="file:///etc/passwd", secret_env="X")

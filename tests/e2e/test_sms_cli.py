"""`outbox dispatch` with text messages and webhooks, and `templates test-send`, as an operator runs them against loopback servers."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from erp_crm.automation.outbox import Outgoing
from erp_crm.model.tables.outbox import communication, outbox
from tests.support.chain_overlay import ROOT, chain_overlay
from tests.support.cli import erp_crm
from tests.support.homes import make_home
from tests.support.http_gateway import LoopbackGateway, Reply, signed_by
from tests.support.outbox import SENDER, email, outbox_overlay, put, sms
from tests.support.smtp import LoopbackSmtp

SEEME_OK = json.dumps({"result": "OK", "price": 14, "code": 0, "message": "Your message has been successfully received by the Gateway."})
SECRETS = {"ERP_CRM_SMS_KEY": "seeme-key"}


def home(tmp_path: Path, sms: dict[str, Any] | None = None, smtp_port: int | None = None) -> tuple[Path, str]:
    url = f"sqlite:///{tmp_path / 'overlay.sqlite'}"
    extra: dict[str, Any] = {}
    if sms:
        extra["sms"] = sms
    if smtp_port:
        extra["email"] = {"sender": SENDER, "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "none"}}
    made = make_home(tmp_path, overlay_url=url, extra=extra)
    shutil.copytree(ROOT / "templates", made / "templates", dirs_exist_ok=True)
    return made, url


def test_dispatch_sends_text_messages_through_the_gateway_and_one_channel_at_a_time(tmp_path: Path) -> None:
    with LoopbackGateway(Reply(200, SEEME_OK)) as gateway, LoopbackSmtp() as smtp:
        made, url = home(tmp_path, {"preset": "seeme", "url": gateway.url + "/gateway", "sender_id": "Pelda"}, smtp.port)
        with outbox_overlay(url) as overlay:
            put(overlay, sms("s1", "06 30 123 4567"), sms("s2", "+36 70 765 4321"), email("e1", "a@vevo.hu"))
        only_sms = erp_crm("--home", made, "outbox", "dispatch", "--channel", "sms", "--json", env=SECRETS)
        rest = erp_crm("--home", made, "outbox", "dispatch", env=SECRETS)
        listed = erp_crm("--home", made, "outbox", "list", "--json")
    report = json.loads(only_sms.stdout)
    assert only_sms.returncode == 0 and report["sent"] == 2 and report["waiting"] == {}, only_sms
    assert [r.query["number"] for r in gateway.received] == ["36301234567", "36707654321"]
    assert rest.returncode == 0 and "1 sent" in rest.stdout and len(smtp.received) == 1
    assert json.loads(listed.stdout)["counts"] == {"email": {"sent": 1}, "sms": {"sent": 2}}


def test_sms_not_set_up_waits_and_a_missing_key_or_a_file_url_is_one_line(tmp_path: Path) -> None:
    made, url = home(tmp_path)
    with outbox_overlay(url) as overlay:
        put(overlay, sms("s1", "+36301234567"))
    waiting = erp_crm("--home", made, "outbox", "dispatch")
    no_key = erp_crm("--home", home(tmp_path, {"preset": "seeme"})[0], "outbox", "dispatch")
    file_url = erp_crm("--home", home(tmp_path, {"url": "file:///etc/passwd"})[0], "outbox", "dispatch")
    assert waiting.returncode == 0 and "SMS is not set up: 1 messages wait; see docs/sending.md" in waiting.stdout
    for done, words in ((no_key, "the environment variable ERP_CRM_SMS_KEY is empty"), (file_url, "only http:// and https:// URLs are used, not file:")):
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and words in lines[0] and "Traceback" not in done.stderr, done


def test_a_gateway_refusing_the_key_exits_3_and_keeps_the_messages(tmp_path: Path) -> None:
    with LoopbackGateway(Reply(401, "unauthorized")) as gateway:
        made, url = home(tmp_path, {"url": gateway.url + "/sms", "auth": {"kind": "bearer", "env": "ERP_CRM_SMS_TOKEN"}, "fields": {"to": "{{ number }}"}})
        with outbox_overlay(url) as overlay:
            put(overlay, sms("s1", "+36301234567"), sms("s2", "+36301234568"))
        done = erp_crm("--home", made, "outbox", "dispatch", env={"ERP_CRM_SMS_TOKEN": "t"})
    assert done.returncode == 3 and "credentials were refused" in done.stdout and len(gateway.received) == 1
    with outbox_overlay(url) as overlay, overlay.connect() as conn:
        assert set(conn.execute(sa.select(outbox.c.status)).scalars()) == {"queued"}


def test_templates_test_send_by_sms_and_email(tmp_path: Path) -> None:
    with LoopbackGateway(Reply(200, SEEME_OK)) as gateway, LoopbackSmtp() as smtp:
        made, url = home(tmp_path, {"preset": "seeme", "url": gateway.url + "/gateway"}, smtp.port)
        with chain_overlay(url):
            pass
        by_sms = erp_crm(
            "--home", made, "templates", "test-send", "winback_reminder", "--partner", "P1", "--to", "06 20 111 2222", "--channel", "sms", env=SECRETS
        )
        by_mail = erp_crm("--home", made, "templates", "test-send", "winback_offer", "--partner", "P1", "--to", "teszt@pelda.hu", "--json", env=SECRETS)
        with outbox_overlay(url) as overlay, overlay.connect() as conn:
            logged = conn.execute(sa.select(communication.c.partner_id, communication.c.channel, communication.c.subject).order_by(communication.c.id)).all()
    assert by_sms.returncode == 0 and "sent the test sms of winback_reminder to +36201112222" in by_sms.stdout, by_sms
    assert gateway.received[0].query["number"] == "36201112222" and "Példa Kft." in gateway.received[0].query["message"]
    assert by_mail.returncode == 0 and json.loads(by_mail.stdout)["to"] == "teszt@pelda.hu" and smtp.received[0].recipients == ["teszt@pelda.hu"]
    assert [(p, c) for p, c, _ in logged] == [(1, "sms"), (1, "email")] and all(s.startswith("[test] ") for _, _, s in logged)


def test_test_send_mistakes_are_one_line_and_send_nothing(tmp_path: Path) -> None:
    with LoopbackGateway(Reply(200, SEEME_OK)) as gateway:
        made, url = home(tmp_path, {"preset": "seeme", "url": gateway.url + "/gateway"})
        with chain_overlay(url):
            pass
        cases = {
            "--to 'javascript:alert(1)'": (
                ["winback_reminder", "--partner", "P1", "--to", "javascript:alert(1)", "--channel", "sms"],
                "--to 'javascript:alert(1)'",
            ),
            "a landline": (["winback_reminder", "--partner", "P1", "--to", "+3612345678", "--channel", "sms"], "landline"),
            "header injection": (["winback_offer", "--partner", "P1", "--to", "a@b.hu\r\nBcc: x@y.hu"], "--to"),
            "no e-mail set up": (["winback_offer", "--partner", "P1", "--to", "a@b.hu"], "e-mail is not set up"),
            "no such template": (["nincs", "--partner", "P1", "--to", "a@b.hu"], "no template 'nincs'"),
            "no such partner": (["winback_offer", "--partner", "P999", "--to", "a@b.hu"], "P999"),
        }
        results = {name: erp_crm("--home", made, "templates", "test-send", *args, env=SECRETS) for name, (args, _) in cases.items()}
    for name, (_, words) in cases.items():
        done = results[name]
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1 and words in lines[0] and "Traceback" not in done.stderr, (name, done)
    assert gateway.received == []


def test_dispatch_sends_signed_webhooks_from_the_settings(tmp_path: Path) -> None:
    key = b"0123456789abcdef0123456789abcdef"
    secret = {"ERP_CRM_HOOK_SECRET": "whsec_" + base64.b64encode(key).decode()}
    with LoopbackGateway(signed_by(key)) as gateway:
        url = f"sqlite:///{tmp_path / 'overlay.sqlite'}"
        made = make_home(tmp_path, overlay_url=url, extra={"webhooks": {"crm_hook": {"url": gateway.url + "/hook", "secret_env": "ERP_CRM_HOOK_SECRET"}}})
        hook = Outgoing("chain:1:0", "webhook", "test", gateway.url + "/hook", '{"data": {"name": "Példa Kft."}}', recipient_name="crm_hook")
        with outbox_overlay(url) as overlay:
            put(overlay, hook, sms("s1", "+36301234567"))
        done = erp_crm("--home", made, "outbox", "dispatch", env=secret)
        no_secret = erp_crm("--home", made, "outbox", "dispatch", "--channel", "webhook")
    assert done.returncode == 0 and "1 sent" in done.stdout and "SMS is not set up: 1 messages wait" in done.stdout, done
    assert len(gateway.received) == 1 and gateway.received[0].headers["webhook-id"] == "chain:1:0"
    assert json.loads(gateway.received[0].body) == {"data": {"name": "Példa Kft."}}
    assert no_secret.returncode == 2 and "ERP_CRM_HOOK_SECRET is empty" in no_secret.stderr and "Traceback" not in no_secret.stderr

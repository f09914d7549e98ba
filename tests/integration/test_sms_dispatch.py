"""Text messages through HTTP gateways on loopback: the generic adapter, the SeeMe and Twilio presets, the trial folder."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest
import sqlalchemy as sa

from erp_crm.automation.dispatch import Claimed, dispatch
from erp_crm.automation.outbox import utc_now
from erp_crm.automation.sms_channel import sms_sender
from erp_crm.errors import ConfigError, UserError
from erp_crm.model.tables.outbox import communication, outbox
from erp_crm.settings.gateways import SmsSection
from erp_crm.settings.sending import OutboxSection
from tests.support.http_gateway import LoopbackGateway, Reply, Request, closed_port
from tests.support.outbox import outbox_overlay, put, sms, states

TOKEN = "tok-123"


def section(**data: Any) -> SmsSection:
    return SmsSection.model_validate(data)


def generic(url: str, **more: Any) -> SmsSection:
    return section(
        url=url + "/sms",
        format="json",
        auth={"kind": "bearer", "env": "ERP_CRM_SMS_TOKEN"},
        fields={"to": "{{ number }}", "text": "{{ text }}", "from": "{{ sender_id }}"},
        headers={"Idempotency-Key": "{{ key }}"},
        success={"json": "status", "equals": "queued", "message_id": "id"},
        sender_id="PELDA",
        **more,
    )


def send(overlay: Any, settings: SmsSection, **options: Any) -> Any:
    return dispatch(overlay, OutboxSection(), {"sms": sms_sender(settings)}, sleep=lambda s: None, **options)


def rows(overlay: Any) -> dict[str, Any]:
    with overlay.connect() as conn:
        return {r.key: r for r in conn.execute(sa.select(outbox)).all()}


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ERP_CRM_SMS_TOKEN", TOKEN)
    monkeypatch.setenv("ERP_CRM_SMS_KEY", "seeme-key")


def test_the_generic_gateway_gets_json_with_the_number_text_sender_and_key(overlay_url: str) -> None:
    answer = lambda request: Reply(200, json.dumps({"status": "queued", "id": "gw-" + request.json()["to"][-4:]}))  # noqa: E731
    with outbox_overlay(overlay_url) as overlay, LoopbackGateway(answer) as gateway:
        put(overlay, sms("s1", "06-30/123 4567", 'Rég nem láttuk! {{ x }} "idéz" \n új sor'), sms("s2", "+36 70 765 4321"))
        report = send(overlay, generic(gateway.url))
        found = rows(overlay)
        with overlay.connect() as conn:
            logged = conn.execute(sa.select(communication.c.channel, communication.c.subject).order_by(communication.c.id)).all()
    first = gateway.received[0]
    assert report.sent == 2 and len(gateway.received) == 2
    assert first.json() == {"to": "+36301234567", "text": 'Rég nem láttuk! {{ x }} "idéz" \n új sor', "from": "PELDA"}, "the text is data, not a template"
    assert first.headers["authorization"] == f"Bearer {TOKEN}" and first.headers["idempotency-key"] == "s1"
    assert (found["s1"].status, found["s1"].answer) == ("sent", "message id gw-4567")
    assert [c for c, _ in logged] == ["sms", "sms"]


def test_seeme_preset_as_its_api_documents_it(overlay_url: str) -> None:
    answer = lambda request: Reply(  # noqa: E731
        200,
        json.dumps({"result": "OK", "price": 14, "code": 0, "message": "Your message has been successfully received by the Gateway."})
        if request.query.get("number") != "36709999999"
        else json.dumps({"result": "ERR", "code": 9, "message": "The given senderid is not allowed"}),
    )
    with outbox_overlay(overlay_url) as overlay, LoopbackGateway(answer) as gateway:
        put(overlay, sms("ok", "+36301234567", "Szia"), sms("bad", "+36709999999"))
        report = send(overlay, section(preset="seeme", url=gateway.url + "/gateway", sender_id="Pelda"))
        found = rows(overlay)
    request = gateway.received[0]
    assert (request.method, request.path) == ("GET", "/gateway")
    assert request.query == {"key": "seeme-key", "number": "36301234567", "message": "Szia", "sender": "Pelda", "reference": "ok", "format": "json"}
    assert (report.sent, report.failed) == (1, 1)
    assert found["bad"].status == "failed" and "senderid is not allowed" in found["bad"].reason


def test_seeme_refusing_the_key_stops_the_run_and_leaves_the_messages_queued(overlay_url: str) -> None:
    with outbox_overlay(overlay_url) as overlay, LoopbackGateway(Reply(200, '{"result":"ERR","code":4,"message":"Authentication error"}')) as gateway:
        put(overlay, sms("a", "+36301234567"), sms("b", "+36301234568"))
        report = send(overlay, section(preset="seeme", url=gateway.url + "/gateway"))
    assert report.error and "refused the account" in report.error
    assert len(gateway.received) == 1 and set(states(overlay).values()) == {"queued"}


def test_twilio_preset_as_its_api_documents_it(overlay_url: str) -> None:
    def answer(request: Request) -> Reply:
        if request.form()["To"] == "+36709999999":
            return Reply(400, json.dumps({"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}))
        return Reply(201, json.dumps({"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued", "to": request.form()["To"]}))

    with outbox_overlay(overlay_url) as overlay, LoopbackGateway(answer) as gateway:
        put(overlay, sms("ok", "+36301234567", "Őszi ajánlat"), sms("bad", "+36709999999"))
        settings = section(preset="twilio", account="AC42", sender_id="Pelda", url=gateway.url + "/2010-04-01/Accounts/AC42/Messages.json")
        report = send(overlay, settings)
        found = rows(overlay)
    request = gateway.received[0]
    assert request.path == "/2010-04-01/Accounts/AC42/Messages.json" and request.form() == {"To": "+36301234567", "From": "Pelda", "Body": "Őszi ajánlat"}
    assert request.headers["authorization"] == "Basic " + base64.b64encode(f"AC42:{TOKEN}".encode()).decode()
    assert found["ok"].answer == "message id SM0123456789abcdef0123456789abcdef"
    assert (report.sent, report.failed) == (1, 1) and "not a valid phone number" in found["bad"].reason


def test_bad_credentials_stop_the_run_and_throttling_slows_it(overlay_url: str) -> None:
    slept: list[float] = []
    with outbox_overlay(overlay_url) as overlay, LoopbackGateway(Reply(401, "invalid token")) as refusing:
        put(overlay, *(sms(f"k{i}", f"+3630123456{i}") for i in range(3)))
        report = send(overlay, generic(refusing.url))
        after_401 = states(overlay)
    with outbox_overlay(overlay_url) as overlay, LoopbackGateway(Reply(429, "", {"Retry-After": "2"})) as throttling:
        put(overlay, *(sms(f"t{i}", f"+3630123456{i}") for i in range(3)))
        slow = dispatch(overlay, OutboxSection(throttle_pause_at_most=5), {"sms": sms_sender(generic(throttling.url))}, sleep=slept.append)
        waiting = rows(overlay)
    assert len(refusing.received) == 1 and report.error and "credentials were refused" in report.error
    assert set(after_401.values()) == {"queued"}
    assert slept == [2.0, 4.0] and slow.stopped and "kept asking to slow down" in slow.stopped, "at least as long as Retry-After says, then doubled"
    assert len(throttling.received) == 3 and all(r.status == "queued" for r in waiting.values())
    assert all(r.due_at >= r.created_at + dt.timedelta(seconds=2) for r in waiting.values() if r.attempts), "retried no sooner than asked"


def test_a_gateway_that_cannot_be_reached_leaves_everything_queued(overlay_url: str) -> None:
    with outbox_overlay(overlay_url) as overlay:
        put(overlay, sms("a", "+36301234567"), sms("b", "+36301234568"))
        report = send(overlay, generic(f"http://127.0.0.1:{closed_port()}"))
    assert report.error and "cannot reach" in report.error and set(states(overlay).values()) == {"queued"}


def test_the_log_folder_writes_each_message_once(overlay_url: str, tmp_path: Any) -> None:
    settings = section(log_folder=str(tmp_path / "sms"), sender_id="PELDA")
    with outbox_overlay(overlay_url) as overlay:
        put(overlay, sms("a", "06301234567", "Első"), sms("b", "+36301234568", "Második"))
        report = send(overlay, settings)
    files = sorted((tmp_path / "sms").glob("*.txt"))
    assert report.sent == 2 and len(files) == 2
    assert "To: +36301234567\nFrom: PELDA\nKey: a\n\nElső\n" in [f.read_text(encoding="utf-8") for f in files]


def claimed(recipient: str, body: str = "x") -> Claimed:
    now = utc_now()
    return Claimed(1, "k", "sms", None, recipient, "", None, body, None, None, None, 0, now)


@pytest.mark.parametrize("number", ["+36301234567&to=+36709999999", "+36 30 123 4567\r\nX-Evil: 1", "javascript:alert(1)", "", "+3612345678"])
def test_a_hostile_number_never_reaches_a_field(number: str) -> None:
    with pytest.raises(UserError, match="the number"):
        sms_sender(generic("http://127.0.0.1:9")).prepare(claimed(number))


def test_a_header_template_that_would_break_a_line_is_refused() -> None:
    sender = sms_sender(section(url="http://127.0.0.1:9/x", headers={"X-Text": "{{ text }}"}))
    with pytest.raises(UserError, match="sms.headers.X-Text holds a line break"):
        sender.prepare(claimed("+36301234567", "hello\r\nX-Evil: 1"))


@pytest.mark.parametrize(
    "template",
    [
        "{{ text.__class__.__mro__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ ''.__class__ }}",
        "{% for x in range(10) %}{% endfor %}",
        "{{ text|attr('upper') }}",
    ],
)
def test_a_field_template_cannot_escape_the_sandbox(template: str) -> None:
    with pytest.raises(UserError, match=r"sms\.fields\.to"):
        sms_sender(section(url="http://127.0.0.1:9/x", fields={"to": template})).prepare(claimed("+36301234567"))


def test_settings_that_cannot_work_are_one_line() -> None:
    with pytest.raises(ConfigError, match="ERP_CRM_NO_SUCH_TOKEN is empty"):
        sms_sender(section(url="https://gw.example/x", auth={"kind": "bearer", "env": "ERP_CRM_NO_SUCH_TOKEN"}))
    with pytest.raises(ConfigError, match="sms.url is not set"):
        sms_sender(section(sender_id="X"))
    for url in ("file:///etc/passwd", "ftp://gw.example/", "gopher://x", "https://gw.example/a b"):
        with pytest.raises(ValueError, match="only http|one line"):
            section(url=url)


def test_a_test_send_is_marked_in_the_log_and_not_counted_by_the_weekly_cap(overlay_url: str, tmp_path: Any) -> None:
    from erp_crm.automation.consent import over_cap
    from erp_crm.settings.sending import ConsentSection
    from tests.support.chain_overlay import chain_overlay

    with chain_overlay(overlay_url) as overlay:
        put(overlay, sms("test:abc", "+36301234567", partner_id=1), sms("chain:1:0", "+36301234567", partner_id=1))
        send(overlay, section(log_folder=str(tmp_path / "sms")))
        with overlay.connect() as conn:
            cap = over_cap(conn, 1, "sms", ConsentSection(max_per_week=2), utc_now())
            logged = sorted(conn.execute(sa.select(communication.c.subject)).scalars())
    assert cap is None, "one message this week: the test send does not count"
    assert logged == ["Példa Kft.: 10% kedvezmény", "[test] Példa Kft.: 10% kedvezmény"]

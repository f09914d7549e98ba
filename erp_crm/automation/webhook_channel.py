"""The webhook channel of the dispatcher: outbox rows become signed POSTs to the endpoints named under `webhooks:`.

The row keeps the JSON body as it was decided and the endpoint's name; the URL, the
secret and the timeout are the endpoint's as the settings say now, so a rotated secret
or a moved receiver needs no change to queued rows. Each request is signed as the
Standard Webhooks specification has it (`webhook_signing.py`), its `webhook-id` the
row's idempotency key, so a receiver can drop a repeat.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from erp_crm.automation.dispatch import Claimed
from erp_crm.automation.http_send import HttpRequest, HttpSender, SuccessCheck
from erp_crm.automation.smtp_send import SendResult
from erp_crm.automation.webhook_signing import parse_secret, signed_headers
from erp_crm.errors import ConfigError, UserError
from erp_crm.settings.gateways import WebhookEndpoint, env_value

ANY_2XX = SuccessCheck(statuses=frozenset(range(200, 300)))


class WebhookSender:
    """Sends claimed webhook rows, one HTTP client per endpoint (each with its own timeout)."""

    def __init__(self, endpoints: Mapping[str, WebhookEndpoint], clock: Callable[[], float] = time.time) -> None:
        self.endpoints = endpoints
        self.keys = {name: _key(name, endpoint) for name, endpoint in endpoints.items()}
        self.clients = {name: HttpSender(float(endpoint.timeout)) for name, endpoint in endpoints.items()}
        self.clock = clock

    def prepare(self, row: Claimed) -> HttpRequest:
        name = row.recipient_name
        endpoint = self.endpoints.get(name)
        if endpoint is None:
            raise UserError(f"no webhook endpoint {name!r} in the settings (webhooks: {', '.join(sorted(self.endpoints)) or 'none'})")
        body = row.body.encode("utf-8")
        headers = signed_headers(self.keys[name], row.key, int(self.clock()), body)
        return HttpRequest("POST", endpoint.url, (*headers.items(), ("Content-Type", "application/json; charset=utf-8")), body)

    def ready(self) -> None:
        return  # each client opens on its first request

    def send(self, prepared: HttpRequest, row: Claimed) -> SendResult:
        return self.clients[row.recipient_name].send(prepared, ANY_2XX)

    def close(self) -> None:
        for client in self.clients.values():
            client.close()


def _key(name: str, endpoint: WebhookEndpoint) -> bytes:
    owner = f"webhooks.{name}.secret_env"
    try:
        return parse_secret(env_value(endpoint.secret_env, owner))
    except ConfigError:
        raise
    except UserError as error:
        raise ConfigError(f"{owner} ({endpoint.secret_env}): {error}") from None

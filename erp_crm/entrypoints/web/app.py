"""The ASGI app `erp-crm serve` runs: unsubscribe links that work without a login.

A message's link is `/u/<token>`, the token signed (`automation.consent`) so it names
one partner, channel and message and cannot be made for anyone else. Opening it (GET)
changes nothing, because mail scanners and link previews open links by themselves: it
shows a page with a button. The button, and a mail client's RFC 8058 one-click request
(`POST` with `List-Unsubscribe=One-Click`), record the opt-out with its source, time and
message, and from then on no chain sends that partner anything on that channel.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from erp_crm.automation.consent import Unsubscribe, current, read_unsubscribe_token, record
from erp_crm.automation.outbox import utc_now
from erp_crm.model.tables.synced import SYNCED
from erp_crm.store.overlay import Overlay

MAX_BODY = 4096  # bytes: a one-click request's body is 26
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
CHANNEL_WORDS = {"email": ("e-mail", "e-mail"), "sms": ("SMS", "text message")}


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    document = (
        '<!doctype html><html lang="hu"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">'
        f"<title>{html.escape(title)}</title><style>body{{font-family:sans-serif;max-width:36em;margin:3em auto;padding:0 1em}}</style></head>"
        f"<body>{body}</body></html>"
    )
    return HTMLResponse(document, status_code=status, headers=HEADERS)


def _invalid() -> HTMLResponse:
    return _page("Érvénytelen link / Invalid link", "<p>Ez a link nem érvényes.</p><p>This link is not valid.</p>", 404)


def create_app(overlay: Overlay, secret: str) -> Starlette:
    """The app over `overlay`, reading links signed with `secret`."""

    def link_of(request: Request) -> Unsubscribe | None:
        token = str(request.path_params["token"])
        found = read_unsubscribe_token(secret, token) if len(token) <= 512 else None
        if found is None:
            return None
        with overlay.connect() as conn:
            partner = SYNCED["partner"]
            exists = conn.execute(partner.select().with_only_columns(partner.c.id).where(partner.c.id == found.partner_id)).first()
        return found if exists else None

    def ask(request: Request) -> Response:
        link = link_of(request)
        if link is None:
            return _invalid()
        hu, en = CHANNEL_WORDS[link.channel]
        form = '<form method="post"><button type="submit" name="confirm" value="1">Leiratkozom / Unsubscribe</button></form>'
        return _page("Leiratkozás / Unsubscribe", f"<p>Nem kér több {hu} üzenetet tőlünk?</p><p>No more {en} messages from us?</p>{form}")

    async def unsubscribe(request: Request) -> Response:
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return PlainTextResponse("request too large", status_code=413, headers=HEADERS)
        one_click = b"List-Unsubscribe=One-Click" in body
        return await _in_thread(lambda: _opt_out(request, one_click))

    def _opt_out(request: Request, one_click: bool) -> Response:
        link = link_of(request)
        if link is None:
            return _invalid()
        with overlay.begin() as conn:
            state = current(conn, link.partner_id, link.channel)
            if state is None or state.status != "opt_out":
                source = "one-click" if one_click else "unsubscribe page"
                record(conn, link.partner_id, link.channel, "opt_out", source, f"the link in message {link.outbox_key}", utc_now())
        hu, en = CHANNEL_WORDS[link.channel]
        return _page("Leiratkozott / Unsubscribed", f"<p>Leiratkozott: több {hu} üzenetet nem küldünk.</p><p>You are unsubscribed: no more {en} messages.</p>")

    def health(_request: Request) -> Response:
        return PlainTextResponse("ok", headers=HEADERS)

    routes = [
        Route("/u/{token}", ask, methods=["GET"]),
        Route("/u/{token}", unsubscribe, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
    ]
    return Starlette(routes=routes)


async def _in_thread(work: Callable[[], Response]) -> Response:
    """Database work off the event loop, as Starlette runs plain (sync) endpoints."""
    return await run_in_threadpool(work)

"""`erp-crm serve`: the web side on one port (today: the unsubscribe links of messages)."""

from __future__ import annotations

import click

from erp_crm.entrypoints.cli.context import Context, pass_ctx
from erp_crm.entrypoints.cli.options import Count


@click.command()
@click.option("--host", help="Address to listen on. Default: web.host (127.0.0.1; put a TLS proxy in front for the internet).")
@click.option("--port", type=Count(1, 65535, "port numbers"), help="Port. Default: web.port (8080).")
@pass_ctx
def serve(obj: Context, host: str | None, port: int | None) -> None:
    """Serve the unsubscribe links (web.public_url must lead here); stop with Ctrl-C."""
    import uvicorn

    from erp_crm.entrypoints.web.app import create_app

    web = obj.settings.web
    app = create_app(obj.overlay, web.secret())
    click.echo(f"serving on http://{host or web.host}:{port or web.port} (public address: {web.public_url or 'web.public_url is not set'})")
    uvicorn.run(app, host=host or web.host, port=port or web.port, log_level="warning", server_header=False)

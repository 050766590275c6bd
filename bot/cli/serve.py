"""`digestbot serve`: the HTTP app (health, metrics, every platform's routes, the archive pages) under uvicorn."""

from __future__ import annotations

import gc
import os
from typing import Annotated

import typer

from bot.cli.build import flush_on_start
from bot.cli.common import run, settings_or_exit
from digest.store import open_store


def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="port (default: PORT, else 8000)")] = None,
) -> None:
    """Serve HTTP: /healthz, the chat platforms' endpoints (Slack events, Telegram webhook) and the archive pages."""
    import uvicorn

    from bot.web import create_app

    settings = settings_or_exit()
    listen_port = port or int(os.environ.get("PORT") or 8000)
    run(flush_on_start(settings))
    app = create_app(settings, open_store(settings))
    # Everything imported so far lives as long as the server: keep it out of the collector's full passes,
    # which otherwise stall every in-flight request (Slack's 3 s ack) for as long as they take.
    gc.collect()
    gc.freeze()
    uvicorn.run(app, host=host, port=listen_port, log_config=None, access_log=False)

"""The assembly of the bot, in one place: the store, the summarizer, and from each configured chat platform its
poster (the morning fan-out), its listeners (`digestbot run`) and its HTTP routes (`digestbot serve`).

bot/delivery, bot/scheduler and the CLI commands take what is built here and never name a platform.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from bot.platform import Poster, registry
from bot.platform.seam import OnShutdown
from digest.settings import Settings
from digest.store import Store, open_store
from digest.store.base import Platform
from digest.summarize.llm import BriefSummarizer, make_client

__all__ = ["listeners", "make_posters", "make_summarizer", "open_store", "routes"]


def make_posters(settings: Settings) -> dict[Platform, Poster]:
    """A poster for every configured platform (its bot token is set)."""
    return {name: platform.poster() for name, platform in registry.configured(settings).items()}


def listeners(settings: Settings, store: Store, stop: asyncio.Event) -> dict[str, Coroutine[Any, Any, None]]:
    """The long-running listeners of `digestbot run`, by name (`digestbot serve` covers the HTTP ways in)."""
    out: dict[str, Coroutine[Any, Any, None]] = {}
    for platform in registry.configured(settings).values():
        out |= platform.listeners(store, stop)
    return out


def routes(settings: Settings, store: Store, on_shutdown: OnShutdown) -> list[Any]:
    """Every platform's HTTP routes (an unconfigured platform may answer that it is not configured here)."""
    return [
        route for platform in registry.platforms(settings).values() for route in platform.routes(store, on_shutdown)
    ]


def make_summarizer(settings: Settings, store: Store, *, use_llm: bool = True) -> tuple[BriefSummarizer, Any]:
    """The brief writer and its LLM client (None without OPENAI_API_KEY or with `use_llm` off: cached and offline
    briefs only). The caller closes the client."""
    client = make_client(settings) if use_llm else None
    return BriefSummarizer(settings, store, client), client

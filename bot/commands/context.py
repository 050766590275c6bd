"""Who is asking, where, and with which defaults: all the engine needs to know about a message's surroundings.

Each adapter fills one from its platform's event; `digestbot ask` and `shell` fill one for the terminal. Nothing
in it is platform-specific: the permission check is a callback the adapter provides.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from digest.models import Lang
from digest.settings import Settings


async def _anyone() -> bool:
    return True


@dataclass(frozen=True)
class Context:
    today: date  # in the deployment's timezone: what "today" and "yesterday" mean
    platform: str = "plain"
    chat_id: str | None = None
    user_id: str | None = None
    workspace_id: str | None = None  # the chat's workspace, on platforms that have them
    private: bool = True  # a one-to-one chat with the bot
    # May this user change the chat's subscription? Asked only when a command would change it.
    may_change: Callable[[], Awaitable[bool]] = field(default=_anyone, compare=False)
    public_url: str | None = None
    lang: Lang | None = None  # None: the chat's subscription language, else `default_lang`
    default_lang: Lang = "ko"
    default_time: time = time(8, 0)
    default_timezone: str = "Asia/Seoul"
    default_day: date | None = None  # stands in for "the latest digest" when the text names no day
    # What users type on this platform to subscribe, and to see the subscription (both named in replies).
    subscribe_command: str = "/subscribe"
    settings_command: str = "/settings"
    # Where the store is (Store.describe()), named when it holds no digest at all: set by the terminal commands
    # for the operator; chats never get paths or Redis URLs.
    store_description: str | None = None

    @classmethod
    def of(cls, settings: Settings, **fields: Any) -> Context:
        """A context with the deployment's defaults; `fields` say where the message came from."""
        values: dict[str, Any] = {
            "today": datetime.now(settings.tz).date(),
            "public_url": settings.public_url,
            "default_lang": settings.lang,
            "default_time": settings.post_time,
            "default_timezone": settings.timezone,
        }
        return cls(**(values | fields))

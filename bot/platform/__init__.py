"""The seam between the bot and the chat platforms it talks to.

- `posting`: what the morning delivery needs from a platform (Poster) and the errors it understands;
- `seam`: ChatPlatform, how an adapter describes itself (its settings, poster, listeners, routes, rendering);
- `registry`: the one list of adapters, imported lazily.

Importing this package imports no adapter.
"""

from __future__ import annotations

from bot.platform.posting import (
    ChatMoved,
    ChatUnreachable,
    DeliveryError,
    OnProgress,
    Poster,
    PostProgress,
    RetryLater,
    Superseded,
)

__all__ = [
    "ChatMoved",
    "ChatUnreachable",
    "DeliveryError",
    "OnProgress",
    "PostProgress",
    "Poster",
    "RetryLater",
    "Superseded",
]

"""The chat platforms this bot knows: one line per adapter, the module that describes it.

Adding a platform is one package (its adapter) and one line here. Modules are imported when first asked for,
and describe themselves without importing their SDK, so listing the platforms costs nothing.
"""

from __future__ import annotations

import difflib
import importlib
from functools import cache

from bot.platform.seam import ChatPlatform
from digest.settings import ConfigError, Settings

ADAPTERS: dict[str, str] = {
    "slack": "bot.slack.platform",
    "telegram": "bot.telegram.platform",
}


def names() -> tuple[str, ...]:
    return tuple(ADAPTERS)


@cache
def adapter(name: str) -> type[ChatPlatform]:
    """The ChatPlatform class of `name`; ConfigError for a name that is not a platform."""
    if name not in ADAPTERS:
        raise ConfigError(f"{name!r} is not a chat platform; {_choices(name)}")
    cls: type[ChatPlatform] = importlib.import_module(ADAPTERS[name]).PLATFORM
    return cls


def _choices(name: str) -> str:
    near = difflib.get_close_matches(name, ADAPTERS, n=1)
    return (f"did you mean {near[0]!r}? " if near else "") + f"one of {', '.join(ADAPTERS)}"


def check_name(name: str) -> str:
    """`name` when it is a registered platform (the edge where a platform name comes in); ConfigError otherwise."""
    adapter(name)
    return name


def platform(settings: Settings, name: str) -> ChatPlatform:
    """The adapter of `name` bound to the settings, its own read from the environment and its settings table."""
    cls = adapter(name)
    return cls(settings, cls.settings_model.of(settings, name))


def platforms(settings: Settings) -> dict[str, ChatPlatform]:
    """Every registered platform, configured or not; a settings table that names no platform is an error."""
    for table in settings.sections:
        if table not in ADAPTERS:
            raise ConfigError(f"unknown settings table [{table}]; {_choices(table)}")
    return {name: platform(settings, name) for name in ADAPTERS}


def configured(settings: Settings) -> dict[str, ChatPlatform]:
    """The platforms this deployment talks to (their bot token is set)."""
    return {name: p for name, p in platforms(settings).items() if p.configured()}


def token_shapes() -> list[str]:
    return [shape for name in ADAPTERS for shape in adapter(name).token_shapes]


def secret_values(settings: Settings) -> list[str]:
    """The core's secrets and every platform's, for the log redaction."""
    return [*settings.secret_values(), *(s for p in platforms(settings).values() for s in p.secrets())]

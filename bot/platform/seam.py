"""ChatPlatform: everything the rest of the bot needs to know about one chat platform, said by its adapter.

An adapter is one package (bot/slack, bot/telegram) with a module that defines a ChatPlatform subclass and
its PlatformSettings; bot/platform/registry.py names that module. That module must import nothing heavy
(no platform SDK): `digestbot ask` and `--help` read every adapter's description, and only the platform in
use pays for its SDK, inside the methods below.
"""

from __future__ import annotations

import difflib
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Self

from pydantic import ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.platform.posting import Poster
from digest.settings import ConfigError, Settings, by_env_name, env_name, secret_values

if TYPE_CHECKING:
    import asyncio

    import typer
    from starlette.routing import BaseRoute

    from bot.commands.context import Context
    from bot.commands.reply import Reply
    from digest.store import Store

OnShutdown = Callable[[Callable[[], Awaitable[None]]], None]


@dataclass(frozen=True)
class Pacing:
    """How fast the morning fan-out starts posts on one platform: per second, and at most this many at once."""

    posts_per_s: float
    concurrency: int


class PlatformSettings(BaseSettings):
    """An adapter's own settings: its environment names (SLACK_BOT_TOKEN, …), or the keys of its table in the
    settings file (`[slack]` bot_token = …). The environment wins, as for the core settings."""

    model_config = SettingsConfigDict(extra="forbid", case_sensitive=False, env_ignore_empty=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (env_settings, init_settings)  # init values are the settings file's table: the environment wins

    @classmethod
    def of(cls, settings: Settings, table_name: str) -> Self:
        """This platform's settings in a deployment: its table of the settings file under the environment."""
        return cls.from_table(table_name, settings.sections.get(table_name, {}))

    @classmethod
    def from_table(cls, table_name: str, table: dict[str, Any]) -> Self:
        """Validate the table (keys are field names) under the environment; ConfigError names what is wrong."""
        try:
            return cls(**by_env_name(cls, table))
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                key = str(error.get("loc", ("?",))[0])
                field = next((f for f in cls.model_fields if key in (f, env_name(cls, f))), None)
                if error.get("type") == "extra_forbidden":
                    near = difflib.get_close_matches(key, list(cls.model_fields), n=1)
                    hint = f"; did you mean '{near[0]}'?" if near else f"; valid keys: {', '.join(cls.model_fields)}"
                    problems.append(f"[{table_name}] {key}: unknown setting{hint}")
                    continue
                where = f"{env_name(cls, field)} (settings file key [{table_name}] {field})" if field else key
                problems.append(f"{where}: {str(error.get('msg', 'invalid')).removeprefix('Value error, ')}")
            raise ConfigError("bad setting " + "; ".join(problems)) from None


class ChatPlatform:
    """One chat platform, bound to the deployment's settings (`settings`) and its own (`own`).

    Subclasses set the class attributes and implement `configured` and `poster`; the rest has defaults
    (no listeners, no routes, no extra commands)."""

    name: ClassVar[str]
    settings_model: ClassVar[type[PlatformSettings]]
    # Regular expressions of this platform's token shapes: redacted from logs and the terminal even when unset.
    token_shapes: ClassVar[tuple[str, ...]] = ()
    # What users type to subscribe a chat here, and to see its subscription: named in replies and post hints.
    subscribe_command: ClassVar[str] = "/subscribe"
    settings_command: ClassVar[str] = "/settings"

    def __init__(self, settings: Settings, own: PlatformSettings) -> None:
        self.settings = settings
        self.own = own

    def configured(self) -> bool:
        """Whether this deployment talks to the platform at all (its bot token is set)."""
        raise NotImplementedError

    def secrets(self) -> list[str]:
        """The configured secret values, for the log redaction."""
        return secret_values(self.own)

    def pacing(self) -> Pacing:
        return Pacing(float(getattr(self.own, "posts_per_s", 5.0)), self.settings.delivery_concurrency)

    def poster(self) -> Poster:
        """The morning post's sender (bot/delivery decides what a failure means for the chat)."""
        raise NotImplementedError

    def listeners(self, store: Store, stop: asyncio.Event) -> dict[str, Coroutine[Any, Any, None]]:
        """The long-running ways in of `digestbot run` (polling, a websocket), by name."""
        return {}

    def routes(self, store: Store, on_shutdown: OnShutdown) -> list[BaseRoute]:
        """The HTTP ways in of `digestbot serve`; `on_shutdown` registers what the server closes when it stops."""
        return []

    @classmethod
    def context(cls, settings: Settings, **fields: Any) -> Context:
        """The command engine's context for a message on this platform (`fields`: chat, user, permission…)."""
        from bot.commands.context import Context

        return Context.of(
            settings,
            platform=cls.name,
            subscribe_command=cls.subscribe_command,
            settings_command=cls.settings_command,
            **fields,
        )

    @classmethod
    def render(cls, reply: Reply) -> str:
        """A reply exactly as this platform receives it: what `digestbot ask --platform NAME` prints."""
        raise NotImplementedError

    @classmethod
    def add_commands(cls, app: typer.Typer) -> None:
        """Extra `digestbot` commands of this platform (e.g. pointing its webhook at `serve`)."""

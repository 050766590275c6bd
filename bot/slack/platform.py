"""Slack as a ChatPlatform: its settings, and how the rest of the bot reaches its poster, listeners and routes.

Imports nothing from slack_bolt or slack_sdk at module level (see bot/platform/seam.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from bot.platform.seam import ChatPlatform, OnShutdown, PlatformSettings
from digest.settings import http_url

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

    from bot.commands.reply import Reply
    from bot.platform.posting import Poster
    from digest.store import Store


class SlackSettings(PlatformSettings):
    bot_token: SecretStr | None = Field(None, validation_alias=AliasChoices("SLACK_BOT_TOKEN"))
    app_token: SecretStr | None = Field(None, validation_alias=AliasChoices("SLACK_APP_TOKEN"))
    signing_secret: SecretStr | None = Field(None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET"))
    api_base_url: str = Field("https://slack.com/api/", validation_alias=AliasChoices("SLACK_API_BASE_URL"))
    # Slack user ids (U…) allowed to subscribe channels besides workspace admins and owners; env: comma-separated.
    admins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=AliasChoices("DIGEST_SLACK_ADMINS")
    )
    # Morning posts started per second (Slack allows about one message per second per channel).
    posts_per_s: float = Field(10.0, gt=0, validation_alias=AliasChoices("DIGEST_SLACK_POSTS_PER_S"))

    @field_validator("admins", mode="before")
    @classmethod
    def _id_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator("api_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str | None:
        return http_url(value)


class Slack(ChatPlatform):
    name = "slack"
    settings_model = SlackSettings
    token_shapes = (r"xox[abposr]-[A-Za-z0-9-]+", r"xapp-[A-Za-z0-9-]+")
    subscribe_command = "/digest-subscribe"  # Slack slash commands are global to a workspace: a distinct name
    settings_command = "/digest-subscribe status"
    own: SlackSettings

    def configured(self) -> bool:
        return self.own.bot_token is not None

    def poster(self) -> Poster:
        from bot.slack.app import web_client
        from bot.slack.poster import SlackPoster

        return SlackPoster(web_client(self.own), public_url=self.settings.public_url)

    def listeners(self, store: Store, stop: asyncio.Event) -> dict[str, Coroutine[Any, Any, None]]:
        """Socket Mode, when an app-level token is set (`digestbot serve` covers the HTTP way in)."""
        if self.own.bot_token is None or self.own.app_token is None:
            return {}
        from bot.slack.socket_mode import run_socket_mode

        return {"slack socket mode": run_socket_mode(self.settings, store)}

    def routes(self, store: Store, on_shutdown: OnShutdown) -> list[BaseRoute]:
        from bot.slack.http import slack_routes

        return slack_routes(self.settings, store, on_shutdown=on_shutdown)

    @classmethod
    def render(cls, reply: Reply) -> str:
        from bot.slack.blocks import reply_to_blocks

        return json.dumps(reply_to_blocks(reply), ensure_ascii=False, indent=2)


PLATFORM = Slack

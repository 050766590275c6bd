"""Build the bolt AsyncApp from Settings + Store, for both HTTP (`digestbot serve`) and Socket Mode (`run`).

Listeners live in bot/slack/listeners/ (one module per kind) and are registered in one place; what they
share is bot/slack/deps.py.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp, AsyncBoltContext, AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.slack.deps import SlackDeps
from bot.slack.listeners import register_listeners
from bot.slack.platform import SlackSettings
from bot.slack.poster import SlackPoster
from digest.settings import ConfigError, Settings
from digest.store import Store, StoreUnavailable

log = logging.getLogger(__name__)

EVENT_DEDUP_TTL_S = 3600.0  # Slack retries an event for a few minutes; an hour covers them all
RESPOND_TIMEOUT_S = 30.0  # what slack_sdk's webhook client allows a response_url call when it owns the session


def web_client(own: SlackSettings) -> AsyncWebClient:
    """The Web API client; every call goes to SLACK_API_BASE_URL. 429s are handled by the poster, not here."""
    if own.bot_token is None:
        raise ConfigError(
            "SLACK_BOT_TOKEN is not set; create the Slack app from config/slack_manifest.yml (README, Slack)"
        )
    return AsyncWebClient(
        token=own.bot_token.get_secret_value(),
        base_url=own.api_base_url,
        retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=2)],
    )


def build_app(settings: Settings, store: Store, *, socket_mode: bool = False) -> AsyncApp:
    """HTTP mode needs SLACK_SIGNING_SECRET (every request is verified); Socket Mode needs SLACK_APP_TOKEN."""
    own = SlackSettings.of(settings, "slack")
    client = web_client(own)
    secret = own.signing_secret.get_secret_value() if own.signing_secret else ""
    if not socket_mode and not secret:
        raise ConfigError("SLACK_SIGNING_SECRET is not set; HTTP mode cannot verify Slack's requests without it")
    app = AsyncApp(
        client=client,
        signing_secret=secret,
        # Socket Mode requests arrive over the app-token websocket and carry no signature.
        request_verification_enabled=bool(secret),
        # Ack first, then answer: listeners run after the HTTP response is sent (a long-lived server, not FaaS).
        process_before_response=False,
        logger=logging.getLogger("bot.slack.bolt"),
    )
    deps = SlackDeps(settings, own, store, SlackPoster(client, public_url=settings.public_url))
    session = _SESSIONS[app] = SharedSession()
    app.use(_respond_over(session))
    app.use(_drop_retried_events(store))
    register_listeners(app, deps)
    return app


async def close_app(app: AsyncApp) -> None:
    """Close what build_app opened for this app (the response_url session); the server calls it on shutdown."""
    if (session := _SESSIONS.pop(app, None)) is not None:
        await session.close()


class SharedSession:
    """One aiohttp session for every response_url call of an app, made on the loop that first uses it.

    bolt's respond() makes a new session per call, so every answer to a slash command paid for a new
    connection (TCP here, TLS to hooks.slack.com in production) and its teardown on the event loop that
    also sends the acks: a quarter of `digestbot serve`'s CPU under the Slack bench (py-spy)."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=RESPOND_TIMEOUT_S))
            self._loop = loop
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = self._loop = None


_SESSIONS: weakref.WeakKeyDictionary[AsyncApp, SharedSession] = weakref.WeakKeyDictionary()


class SharedSessionRespond(AsyncRespond):
    """bolt's respond(): the same message, posted over the app's shared session with slack_sdk's public
    webhook client."""

    def __init__(self, context: AsyncBoltContext, session: SharedSession) -> None:
        super().__init__(response_url=context.response_url, proxy=context.client.proxy, ssl=context.client.ssl)
        self.shared = session

    async def __call__(  # the signature of AsyncRespond.__call__
        self,
        text: str | dict[str, Any] = "",
        blocks: Sequence[Any] | None = None,
        attachments: Sequence[Any] | None = None,
        response_type: str | None = None,
        replace_original: bool | None = None,
        delete_original: bool | None = None,
        unfurl_links: bool | None = None,
        unfurl_media: bool | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> WebhookResponse:
        if self.response_url is None:
            raise ValueError("respond is unsupported here as there is no response_url")
        if isinstance(text, dict):
            message = dict(text)
        else:
            fields = {
                "text": text,
                "blocks": blocks,
                "attachments": attachments,
                "response_type": response_type,
                "replace_original": replace_original,
                "delete_original": delete_original,
                "unfurl_links": unfurl_links,
                "unfurl_media": unfurl_media,
                "thread_ts": thread_ts,
                "metadata": metadata,
            }
            message = {key: value for key, value in fields.items() if value is not None}
        client = AsyncWebhookClient(url=self.response_url, proxy=self.proxy, ssl=self.ssl, session=self.shared.get())
        return await client.send_dict(message)


def _respond_over(session: SharedSession) -> Callable[..., Awaitable[None]]:
    """Give each request with a response_url the shared-session respond(), before bolt makes its own."""

    async def middleware(context: AsyncBoltContext, next: Callable[[], Awaitable[None]]) -> None:
        if context.response_url is not None:
            context["respond"] = SharedSessionRespond(context, session)
        await next()

    return middleware


def _drop_retried_events(store: Store) -> Callable[..., Awaitable[BoltResponse | None]]:
    """Slack re-sends an event (X-Slack-Retry-Num) when our ack was slow or lost: answer each event_id once."""

    async def middleware(body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id:
            try:
                first = await store.first_time(f"slack:event:{event_id}", EVENT_DEDUP_TTL_S)
            except StoreUnavailable:
                first = True  # better a rare double answer than none
            if not first:
                log.info("slack: event %s already handled; acking the retry", event_id)
                return BoltResponse(status=200, body="", headers={"x-digestbot-duplicate": "1"})
        await next()
        return None

    return middleware

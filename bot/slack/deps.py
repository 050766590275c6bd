"""What the Slack listeners share: the settings, the store, the poster, and the way every answer is made.

Its own module so the listeners import it without importing bot/slack/app.py, which imports the listeners.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot import metrics
from bot.commands import engine
from bot.commands.context import Context
from bot.commands.reply import Reply
from bot.slack.blocks import Message, reply_to_blocks
from bot.slack.platform import Slack, SlackSettings
from bot.slack.poster import SlackPoster
from digest.settings import Settings
from digest.store import Store

log = logging.getLogger(__name__)

ANSWER_LANES = 4  # answers worked on at once: a response_url stays valid for 30 minutes, an ack only 3 s


async def _anyone() -> bool:
    return True


@dataclass
class SlackDeps:
    """What the listeners need; built once per app."""

    settings: Settings
    own: SlackSettings
    store: Store
    poster: SlackPoster
    _lane: asyncio.Semaphore | None = None

    def _answer_lane(self) -> asyncio.Semaphore:
        if self._lane is None:  # made on first use, on the serving event loop
            self._lane = asyncio.Semaphore(ANSWER_LANES)
        return self._lane

    def context(
        self,
        channel_id: str | None,
        *,
        user_id: str | None = None,
        team_id: str | None = None,
        may_change: Callable[[], Awaitable[bool]] = _anyone,
    ) -> Context:
        return Slack.context(
            self.settings,
            chat_id=channel_id or None,
            user_id=user_id or None,
            workspace_id=team_id,
            private=bool(channel_id and channel_id.startswith("D")),  # direct-message channels start with D
            may_change=may_change,
        )

    async def _reply(self, make: Callable[[], Awaitable[Reply]], what: str, ctx: Context) -> tuple[str, Message]:
        """The engine's Reply as Block Kit. The engine never raises; the guard keeps a listener alive anyway.

        Answers take turns (ANSWER_LANES at once): under a burst, the acks of new requests, which Slack wants
        within 3 s, are then not queued on the event loop behind dozens of answers, which may take minutes."""
        async with self._answer_lane():
            try:
                reply = await make()
            except Exception:
                log.exception("slack: answering %r failed", what[:80])
                reply = engine.unavailable_reply(ctx.lang or ctx.default_lang)
            metrics.command_answered("slack", reply.kind)
            return reply.kind, reply_to_blocks(reply)

    async def answer(self, text: str, ctx: Context) -> Message:
        _, message = await self._reply(lambda: engine.answer(text, self.store, ctx), text, ctx)
        return message

    async def answer_button(self, data: str, ctx: Context) -> tuple[str, Message]:
        """(the reply's kind, the message): a button that no longer leads anywhere is told only to who pressed it."""
        return await self._reply(lambda: engine.answer_button(data, self.store, ctx), data, ctx)

"""Any text, lone surrogates included, through `digestbot ask`'s code path on every platform: an answer that
platform can send, never an exception. Telegram's updates and terminals can carry lone surrogates (JSON's
"\\udcff", undecodable bytes in argv); UTF-8 and UTF-16 cannot encode them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli.ask import PLAIN, _context, render_reply
from bot.commands.engine import answer
from bot.commands.reply import Button, Entry, Link, Part, Reply
from bot.platform import registry
from digest import pipeline
from digest.settings import Settings
from digest.store.sqlite import SqliteStore
from digest.text import utf16_len
from tests.fakes.telegram import check_message

DAY = date(2026, 2, 13)
PLATFORMS = (PLAIN, *registry.names())

# Every code point, surrogates included (hypothesis leaves them out unless asked).
any_char = st.characters(exclude_categories=())
any_text = st.text(any_char, max_size=300)
command_like = st.builds(
    lambda cmd, rest: f"/{cmd} {rest}", st.sampled_from(["paper 3", "paper", "digest", "subscribe", "x"]), any_text
)


def assert_sendable(rendered: str, platform: str) -> None:
    rendered.encode("utf-8")  # what a terminal, an HTTP body and every chat API need
    if platform == "telegram":
        for message in json.loads(rendered):
            text, _ = check_message(message, "HTML")  # parses as Telegram does, and fits one message
            assert utf16_len(text) <= 4096
    if platform == "slack":
        assert json.loads(rendered)["text"]


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Callable[[], SqliteStore]:
    path = tmp_path_factory.mktemp("any-text") / "store.sqlite3"

    async def build() -> None:
        store = SqliteStore(path)
        try:
            settings = Settings(DIGEST_DATA_DIR=path.parent)  # type: ignore[call-arg]
            await pipeline.build(settings, store, DAY, source="sample")
        finally:
            await store.close()

    asyncio.run(build())
    return lambda: SqliteStore(path)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(any_text, command_like), platform=st.sampled_from(PLATFORMS))
def test_any_text_gets_a_sendable_answer_on_every_platform(
    stored: Callable[[], SqliteStore], make_settings: Callable[..., Settings], text: str, platform: str
) -> None:
    async def ask() -> str:
        store = stored()
        try:
            reply = await answer(text, store, _context(make_settings(), platform, "ko"))
            return render_reply(reply, platform)
        finally:
            await store.close()

    assert_sendable(asyncio.run(ask()), platform)


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("text", ["/paper 3 \udcff", "/paper \ud800 risks", "\udfff", "/subscribe \ud83d"])
def test_a_lone_surrogate_is_refused_with_a_sendable_reply(
    stored: Callable[[], SqliteStore], make_settings: Callable[..., Settings], text: str, platform: str
) -> None:
    async def ask() -> tuple[str, str]:
        store = stored()
        try:
            reply = await answer(text, store, _context(make_settings(), platform, "en"))
            return reply.kind, render_reply(reply, platform)
        finally:
            await store.close()

    kind, rendered = asyncio.run(ask())
    assert kind == "error" and "control characters" in rendered
    assert_sendable(rendered, platform)


text_fields = st.text(any_char, max_size=200)
replies = st.builds(
    Reply,
    kind=st.sampled_from(["answer", "error", "help", "unavailable"]),
    title=st.none() | text_fields,
    title_url=st.none() | st.just("https://arxiv.org/abs/2602.12205"),
    parts=st.lists(
        st.builds(
            Part,
            heading=st.none() | text_fields,
            paragraphs=st.lists(st.text(any_char, max_size=3000), max_size=3),
            items=st.lists(text_fields, max_size=4),
            entries=st.lists(
                st.builds(
                    Entry,
                    text=text_fields,
                    url=st.none() | st.just("https://arxiv.org/abs/2602.12205"),
                    detail=text_fields,
                ),
                max_size=3,
            ),
        ),
        max_size=4,
    ),
    links=st.lists(st.builds(Link, label=text_fields, url=st.just("https://example.org/x")), max_size=3),
    buttons=st.lists(
        st.builds(Button, label=text_fields, action=st.just("p|2026-02-13|ko|2602.12205|risks")), max_size=3
    ),
    footer=st.none() | text_fields,
)


@settings(max_examples=300, deadline=None)
@given(reply=replies, platform=st.sampled_from(PLATFORMS))
def test_every_renderer_sends_any_reply_whatever_its_text(reply: Reply, platform: str) -> None:
    """The renderers never crash, even on text that did not come through the parser (a stored title, say)."""
    rendered = render_reply(reply, platform)
    rendered.encode("utf-8")
    if platform == "telegram":
        for message in json.loads(rendered):
            if message.strip():
                text, _ = check_message(message, "HTML")
                assert utf16_len(text) <= 4096

"""Block Kit rendering: every post and reply of the reference days validates, fits Slack's limits, escapes text."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

import pytest
from slack_sdk.models.blocks import Block

from bot.commands import engine
from bot.commands.reply import Part, Reply
from bot.slack.blocks import MAX_SECTION_TEXT, brief_message, digest_message, mrkdwn_sections, reply_to_blocks
from digest.sections import SECTIONS, TECHNOLOGIST
from digest.settings import Settings
from digest.sources import sample
from tests.fakes.slack import block_kit_error
from tests.slack_support import build_day, store_for

HOSTILE = "Attack <!channel> & <https://evil.example|click here> <@U0ADMIN>"


def mrkdwn_texts(node: object) -> list[str]:
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn":
            return [node["text"]]
        return [t for value in node.values() for t in mrkdwn_texts(value)]
    if isinstance(node, list):
        return [t for value in node for t in mrkdwn_texts(value)]
    return []


def assert_valid(message: dict) -> None:
    assert message["text"].strip()
    assert 0 < len(message["blocks"]) <= 50
    for block in message["blocks"]:
        Block.parse(block).validate_json()  # raises SlackObjectFormationError on a broken block
    assert block_kit_error(message) is None


@pytest.mark.parametrize("day", sample.available_days())
async def test_every_post_and_reply_of_the_reference_days_validates(
    make_settings: Callable[..., Settings], day: date
) -> None:
    settings = make_settings(public_url="https://digest.example")
    digest = await build_day(settings, day)
    assert_valid(digest_message(digest, settings.public_url))
    for item in digest.items:
        assert_valid(brief_message(item, digest.lang))
    questions = ["/help", "/digest", f"/digest {day}", "/paper 9 risks", "/paper", "/paper 1 nonsense"]
    questions += [f"/paper {i.rank} {s.key} {day}" for i in digest.items for s in SECTIONS]
    store = store_for(settings)
    try:
        for text in questions:
            assert_valid(reply_to_blocks(await engine.answer(text, store, lang=digest.lang, today=day)))
    finally:
        await store.close()


async def test_paper_text_cannot_ping_or_forge_links(make_settings: Callable[..., Settings]) -> None:
    digest = await build_day(make_settings())
    item = digest.items[0]
    item.paper.title = HOSTILE
    item.brief.one_liner = HOSTILE
    item.brief.risks = [HOSTILE]
    item.brief.abstract_ko = HOSTILE
    digest.notes = [HOSTILE]
    rendered = [digest_message(digest), brief_message(item, "ko")]
    rendered.append(
        reply_to_blocks(Reply(title=HOSTILE, parts=[Part(heading=HOSTILE, paragraphs=[HOSTILE], items=[HOSTILE])]))
    )
    for message in rendered:
        # Slack parses mentions and links in mrkdwn and in the top-level text; plain_text shows them verbatim.
        text = "\n".join([message["text"], *mrkdwn_texts(message["blocks"])])
        assert "<!channel>" not in text and "<https://evil" not in text and "<@U0ADMIN>" not in text
        assert "&lt;!channel&gt; &amp; &lt;https://evil.example|click here&gt;" in text


def test_long_text_is_split_under_3000_without_cutting_a_zwj_emoji() -> None:
    text = ("긴 문단 " + TECHNOLOGIST + " ") * 1200 + "\n" + "짧은 줄\n" * 400
    blocks = mrkdwn_sections(text)
    assert len(blocks) > 3
    for block in blocks:
        chunk = block["text"]["text"]
        assert 0 < len(chunk) <= MAX_SECTION_TEXT
        assert not chunk.startswith("\u200d") and not chunk.rstrip("…").endswith("\u200d")
    assert "".join(b["text"]["text"] for b in blocks).count(TECHNOLOGIST) == 1200


def test_a_huge_reply_is_capped_at_50_blocks_and_headers_at_150() -> None:
    reply = Reply(title="T" * 400, parts=[Part(heading=f"part {n}", paragraphs=["x" * 2500]) for n in range(80)])
    message = reply_to_blocks(reply)
    assert len(message["blocks"]) == 50
    assert_valid(message)


async def test_a_very_long_title_fits_the_header(make_settings: Callable[..., Settings]) -> None:
    digest = await build_day(make_settings())
    item = digest.items[0]
    item.paper.title = "A" * 500
    header = brief_message(item, "ko")["blocks"][0]
    assert header["type"] == "header" and len(header["text"]["text"]) <= 150
    assert_valid(brief_message(item, "ko"))
    assert_valid(digest_message(digest))


async def test_the_morning_post_shows_the_whole_digest_within_block_kits_limits(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(public_url="https://digest.example")
    digest = await build_day(settings)
    message = digest_message(digest, settings.public_url)
    assert_valid(message)
    blocks = message["blocks"]
    assert blocks[0]["type"] == "header"
    # When it was made and from what, then the top issues, before the papers.
    context = " ".join(e["text"] for e in blocks[1]["elements"])
    assert "생성 시간(KST): " in context and "Hugging Face Daily Papers(논문 8, 선정 5)" in context
    assert blocks[2]["text"]["text"].startswith("*오늘의 Top 이슈*\n1) The Devil Behind Moltbook")
    # A thumbnail beside each paper, and the paper's full-view link in the digest's language.
    accessories = [b["accessory"] for b in blocks if b.get("accessory")]
    assert [a["image_url"] for a in accessories] == [i.paper.thumbnail for i in digest.items]
    assert all(a["type"] == "image" and a["alt_text"] for a in accessories)
    assert "<https://digest.example/d/2026-02-13#1|전체 보기>" in json.dumps(message, ensure_ascii=False)
    english = await build_day(settings, lang="en")
    assert "/d/2026-02-13?lang=en#1|Full view>" in json.dumps(digest_message(english, settings.public_url))


async def test_digest_lists_each_title_as_a_link(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings()
    digest = await build_day(settings)
    store = store_for(settings)
    try:
        message = reply_to_blocks(await engine.answer("/digest", store, lang="ko", today=digest.date))
    finally:
        await store.close()
    text = "\n".join(mrkdwn_texts(message["blocks"]))
    for item in digest.items:
        assert f"• <{item.paper.url}|{item.rank}. {item.paper.title}>" in text
    assert_valid(message)

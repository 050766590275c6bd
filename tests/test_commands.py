"""The follow-up commands, answered from a real embedded store holding the 2026-02-13 sample day."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands.engine import answer
from bot.commands.parse import MAX_LENGTH, PaperCommand, ParseError, parse
from bot.commands.plain import reply_to_text
from digest import pipeline
from digest.sections import SECTION_BY_KEY
from digest.store.sqlite import SqliteStore
from digest.summarize.llm import BriefSummarizer

DAY = date(2026, 2, 13)
TODAY = date(2026, 2, 14)


@pytest.fixture
async def store(make_settings, tmp_path):
    """What `digestbot demo` stores: the sample day with its golden briefs (no LLM)."""
    s = SqliteStore(tmp_path / "store.sqlite3")
    settings = make_settings()
    await pipeline.build(settings, s, DAY, source="sample", summarizer=BriefSummarizer(settings, s))
    yield s
    await s.close()


@pytest.mark.parametrize(
    "text",
    ["/paper 3 risks", "/paper 3 risk", "/paper 3 리스크", "/paper 3 riks", "/paper@DigestBot 3 risks", "paper 3 위험"],
)
def test_risks_and_its_near_misses_parse_alike(text):
    cmd = parse(text)
    assert isinstance(cmd, PaperCommand)
    assert (cmd.rank, cmd.section, cmd.day) == (3, SECTION_BY_KEY["risks"], None)


def test_words_may_come_in_any_order_with_a_date_and_an_arxiv_url():
    cmd = parse("/paper 2026-02-13 dev 2")
    assert isinstance(cmd, PaperCommand)
    assert (cmd.rank, cmd.section.key, cmd.day) == (2, "dev", DAY)
    cmd = parse("/paper https://arxiv.org/abs/2602.12205v2 링크")
    assert isinstance(cmd, PaperCommand)
    assert (cmd.paper_id, cmd.section.key) == ("2602.12205", "links")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("x" * (MAX_LENGTH + 1), "too_long"),
        ("/paper 3\x00 risks", "control"),
        ("/paper", "missing_target"),
        ("/paper risks", "missing_target"),
        ("/paper 3 bananas", "unknown_section"),
        ("/paper 3 risks 2026-02-30", "bad_date"),
        ("/paper 1.5", "bad_number"),
        ("/paper 1 2", "two_targets"),
        ("/frobnicate", "unknown_command"),
        ("/digest someday", "bad_date"),
    ],
)
def test_mistakes_are_parse_errors_with_a_code(text, code):
    with pytest.raises(ParseError) as caught:
        parse(text)
    assert caught.value.code == code


async def test_paper_3_risks_is_answered_from_the_store(store):
    reply = await answer("/paper 3 risks", store, today=TODAY)
    assert reply.kind == "answer"
    assert reply.title is not None and reply.title.startswith("3. DeepGen 1.0")
    assert reply.parts[-1].heading == "⚠️ 리스크/한계"
    digest = await store.get_digest(DAY, "ko")
    assert digest is not None
    assert reply.parts[-1].items == digest.items[2].brief.risks and len(reply.parts[-1].items) == 2


async def test_all_sections_carry_the_papers_own_links(store):
    reply = await answer("/paper 1", store, today=TODAY)
    digest = await store.get_digest(DAY, "ko")
    assert digest is not None
    assert [(link.label, link.url) for link in reply.links] == digest.items[0].paper.links()
    headings = [p.heading for p in reply.parts if p.heading]
    assert headings[:3] == ["📌 한 줄 요약", "🔑 핵심 포인트", "\U0001f9d1\u200d\U0001f4bb 개발자 관점"]


async def test_an_arxiv_id_finds_its_paper(store):
    reply = await answer("/paper 2602.12205 summary", store, today=TODAY)
    assert reply.kind == "answer" and reply.title is not None and reply.title.startswith("3. ")


async def test_a_rank_out_of_range_says_which_ranks_exist(store):
    reply = await answer("/paper 7 risks", store, today=TODAY)
    assert reply.kind == "error"
    assert "1-5번이 있습니다" in reply_to_text(reply)
    assert reply.footer == "예: /paper 5 risks"


async def test_an_unknown_section_lists_the_sections(store):
    text = reply_to_text(await answer("/paper 3 bananas", store, today=TODAY))
    assert "bananas" in text and "risks" in text and "summary" in text and "/paper 3 risks" in text


async def test_a_day_without_a_digest_names_the_nearest_day(store):
    reply = await answer("/paper 3 risks 2026-02-10", store, today=TODAY)
    assert reply.kind == "error"
    assert "가장 가까운 날짜는 2026-02-13" in reply_to_text(reply)
    assert reply.footer == "예: /paper 3 risks 2026-02-13"
    reply = await answer("/digest today", store, today=TODAY)
    assert "2026-02-14" in reply_to_text(reply) and "2026-02-13" in reply_to_text(reply)


async def test_digest_lists_the_five_papers_and_english_works(store):
    reply = await answer("/digest yesterday", store, today=TODAY)
    assert reply.title == "2026-02-13 Daily Papers (Top 5)"
    digest = await store.get_digest(DAY, "ko")
    assert digest is not None
    # Each title is a link to its paper.
    entries = reply.parts[-2].entries
    assert [e.text.split(".")[0] for e in entries] == ["1", "2", "3", "4", "5"]
    assert [e.url for e in entries] == [i.paper.url for i in digest.items]
    reply = await answer("/paper 3 nonsense", store, lang="en", today=TODAY)
    assert "is not a section" in reply_to_text(reply)


async def test_an_empty_store_says_so(tmp_path):
    s = SqliteStore(tmp_path / "empty.sqlite3")
    try:
        reply = await answer("/paper 1", s, today=TODAY)
    finally:
        await s.close()
    assert reply.kind == "error" and "아직 저장된 다이제스트가 없습니다" in reply_to_text(reply)


async def test_help_and_sections(store):
    help_text = reply_to_text(await answer("/help", store, today=TODAY))
    assert "/paper N" in help_text and "/digest" in help_text
    sections_text = reply_to_text(await answer("/sections", store, today=TODAY))
    assert "리스크" in sections_text and "uncertainty" in sections_text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.text(max_size=400), st.from_regex(r"/(paper|digest|help|sections)( [^\n]{0,30}){0,4}")))
def test_any_text_gets_a_non_empty_reply_and_never_an_exception(make_settings, tmp_path_factory, text):
    async def run() -> str:
        s = SqliteStore(tmp_path_factory.getbasetemp() / "property.sqlite3")
        try:
            if await s.latest_date("ko") is None:
                await pipeline.build(make_settings(), s, DAY, source="sample")
            return reply_to_text(await answer(text, s, today=TODAY))
        finally:
            await s.close()

    reply = asyncio.run(run())
    assert reply.strip()
    assert "문제가 생겼습니다" not in reply  # the catch-all apology means a bug, not a user mistake


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=MAX_LENGTH + 20))
def test_the_parser_raises_nothing_but_parse_error(text):
    # answer() would turn any other exception into an apology; the parser itself must not need that.
    try:
        parse(text)
    except ParseError as exc:
        assert exc.code


@pytest.mark.parametrize("text", ["/paper 3 \udcff", "/subscribe \ud800", "\udfff"])
async def test_a_lone_surrogate_gets_a_reply_every_renderer_can_send(store, text) -> None:  # type: ignore[no-untyped-def]
    from bot.slack.blocks import reply_to_blocks
    from bot.telegram.html import reply_to_messages

    reply = await answer(text, store, today=TODAY)
    assert reply.kind == "error"
    for rendered in (reply_to_text(reply), json.dumps(reply_to_blocks(reply)), *reply_to_messages(reply)):
        rendered.encode("utf-8")  # would raise on a surrogate


def test_every_sentence_exists_in_every_language() -> None:
    from bot.commands.texts import TEXTS
    from digest.models import LANGS

    assert set(TEXTS) == set(LANGS)
    keys = [set(table) for table in TEXTS.values()]
    assert all(k == keys[0] for k in keys)
    for table in TEXTS.values():  # the same placeholders in each language
        for key, sentence in table.items():
            assert sorted(re.findall(r"\{(\w+)\}", sentence)) == sorted(re.findall(r"\{(\w+)\}", TEXTS["ko"][key])), key

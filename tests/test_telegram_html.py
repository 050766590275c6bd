"""Rendering and splitting: every message the renderer produces is one the strict fake accepts."""

from __future__ import annotations

import string
import unicodedata
from datetime import UTC, date, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands.engine import digest_reply, paper_reply
from bot.commands.reply import Link, Part, Reply
from bot.telegram.html import (
    MESSAGE_LIMIT,
    Block,
    Span,
    hashtag,
    header_blocks,
    paginate,
    paper_blocks,
    reply_pieces,
)
from digest.models import Brief, Digest, Item, Paper
from digest.sections import SECTION_BY_KEY
from digest.text import utf16_len
from tests.fakes.telegram import check_message

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
TECHNOLOGIST = "\U0001f9d1\u200d\U0001f4bb"
NASTY = ["<", ">", "&", "&amp;", '"', "'", "</b>", "<i>", FAMILY, TECHNOLOGIST, "🇰🇷", "𝔸", "한국어", "\n", " ", "é"]
texts = st.lists(
    st.one_of(st.sampled_from(NASTY), st.text(string.printable + "가나다😀𝔸", max_size=30)), max_size=40
).map("".join)
long_text = st.builds(
    lambda unit, n: unit * n, st.sampled_from(["a", "가 ", FAMILY, "<&>", "word ", "𝔸\n"]), st.integers(1000, 20000)
)
any_text = st.one_of(texts, long_text)


def accepted(pieces: list, *, limit: int = MESSAGE_LIMIT) -> None:
    for piece in pieces:
        text, _ = check_message(piece.html, "HTML")  # raises what Telegram would answer
        assert text == piece.text  # the plain fallback is exactly what the HTML shows
        assert utf16_len(text) <= limit


def test_a_long_paragraph_is_cut_between_lines_and_never_inside_a_zwj_sequence() -> None:
    line = (TECHNOLOGIST + " 개발자 <관점> & ") * 600
    pieces = paginate([[[Span("제목", ("b",))]], [[Span(line, ("i",))], [Span("다음 줄")]]])
    accepted(pieces)
    assert len(pieces) > 2
    joined = "".join(p.text for p in pieces)
    assert joined.count(TECHNOLOGIST) == 600  # no sequence was broken into its parts
    assert all(p.html.startswith("<") for p in pieces[1:])  # each piece re-opens its tags


def test_blocks_move_whole_to_the_next_message_when_they_do_not_fit() -> None:
    blocks: list[Block] = [[[Span("x" * 3000)]], [[Span("y" * 2000)]]]
    pieces = paginate(blocks)
    assert [p.text for p in pieces] == ["x" * 3000, "y" * 2000]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=any_text,
    body=any_text,
    items=st.lists(any_text, max_size=4),
    url=st.sampled_from(["https://x.org/?a=1&b=<2>", "javascript:x", ""]),
)
def test_any_reply_renders_to_messages_the_fake_accepts(title: str, body: str, items: list[str], url: str) -> None:
    reply = Reply(
        title=title or None,
        title_url=url or None,
        parts=[Part(heading=title[:50] or None, paragraphs=[body], items=items)],
        links=[Link(label=title[:20] or "x", url=url or "https://a.b")],
        footer=body[:300] or None,
    )
    accepted(reply_pieces(reply))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=any_text,
    abstract=any_text,
    points=st.lists(any_text, min_size=1, max_size=5),
    tags=st.lists(texts, max_size=5),
)
def test_any_digest_renders_to_messages_the_fake_accepts(
    title: str, abstract: str, points: list[str], tags: list[str]
) -> None:
    paper = Paper(
        id="2602.00001",
        title=title or "t",
        abstract=abstract,
        url="https://huggingface.co/papers/2602.00001",
        thumbnail="https://x.org/t.png",
    )
    brief = Brief(
        one_liner=abstract or "x",
        key_points=points,
        developer_view=abstract,
        actions=points,
        risks=points,
        uncertainty=title,
        abstract_ko=abstract,
        tags=tags,
        difficulty="중",
        confidence="하",
    )
    item = Item(rank=1, paper=paper, brief=brief)
    digest = Digest(
        date=date(2026, 2, 13),
        generated_at=datetime(2026, 2, 13, tzinfo=UTC),
        items=[item],
        daily_actions=points,
        notes=[title],
    )
    accepted(paginate(header_blocks(digest)))
    accepted(paginate(paper_blocks(item, "ko", digest.date, "https://d.example")))
    for key in ("risks", "abstract", "links", "all"):
        pieces = reply_pieces(paper_reply(digest, item, SECTION_BY_KEY[key], "ko"))  # what a section button shows
        accepted(pieces)
        for piece in pieces:  # no piece starts or ends inside a grapheme cluster (ZWJ, modifier, mark)
            first, last = piece.text[:1], piece.text[-1:]
            assert last != "\u200d" and first not in ("\u200d", "\ufe0f") and not unicodedata.combining(first or "a")


# Escaping and links come from the Reply.
def test_markup_in_text_is_escaped_and_links_come_from_the_reply() -> None:
    reply = Reply(
        title="<b>x</b> & y", parts=[Part(items=["a < b"])], links=[Link(label="PDF", url="https://a/?x=1&y=2")]
    )
    (message,) = reply_pieces(reply)
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in message.html and "• a &lt; b" in message.html
    assert '<a href="https://a/?x=1&amp;y=2">PDF</a>' in message.html
    accepted([message])


def test_a_long_reply_is_split_without_cutting_an_emoji_or_an_entity() -> None:
    paragraph = (FAMILY + " a&b <c> 한국어 ") * 900  # one line, far over the limit
    reply = Reply(title="T", parts=[Part(heading="H", paragraphs=[paragraph]), Part(items=["x" * 5000])])
    pieces = reply_pieces(reply)
    accepted(pieces)
    assert len(pieces) > 3
    text = "".join(p.text for p in pieces)
    assert text.count(FAMILY) == 900 and "\ufffd" not in text


def test_tags_become_hashtags_telegram_links_whole() -> None:
    assert hashtag("Self-Evolution") == "#Self_Evolution"
    assert hashtag("On-Policy RL") == "#On_Policy_RL"
    assert hashtag("강화 학습") == "#강화_학습"
    assert hashtag("300") is None and hashtag("--") is None
    paper = Paper(id="2602.09877", title="Moltbook", url="https://huggingface.co/papers/2602.09877", upvotes=181)
    brief = Brief(one_liner="x", tags=["Agent", "Self-Evolution", "Chain-of-Thought (CoT)"])
    html = paginate(paper_blocks(Item(rank=1, paper=paper, brief=brief), "en", date(2026, 2, 13)))[0].html
    assert "🏷️ #Agent #Self_Evolution #Chain_of_Thought_CoT" in html


def test_digest_lists_each_title_as_a_link() -> None:
    papers = [Paper(id=f"2602.0000{n}", title=f"Paper {n}", url=f"https://hf.example/{n}") for n in (1, 2)]
    items = [Item(rank=n, paper=p, brief=Brief(one_liner=f"line {n}")) for n, p in enumerate(papers, 1)]
    digest = Digest(date=date(2026, 2, 13), generated_at=datetime(2026, 2, 14, tzinfo=UTC), items=items)
    pieces = reply_pieces(digest_reply(digest, "en"))
    accepted(pieces)
    assert '• <a href="https://hf.example/1">1. Paper 1</a> — line 1' in pieces[0].html

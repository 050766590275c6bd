"""What a reader gets on every reference day, in both languages, with and without an LLM, on every surface.

Each day is built as users build it (the sample source; the fake OpenAI server for the LLM) and rendered as the
Markdown report, the web page, the Telegram messages, the Slack blocks and `digestbot ask` plain text; the
assertions are about the content: no filler repeated across papers, no text broken by link scrubbing, no
Korean in an English digest, no invented vote counts, and every model-written text checked.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import pytest

from bot.commands.engine import answer, paper_reply
from bot.commands.plain import reply_to_text
from bot.slack.blocks import brief_message, digest_message
from bot.telegram.html import header_blocks, paginate, paper_blocks, reply_pieces
from bot.web import create_app
from digest import pipeline
from digest.models import Digest, Lang, Paper
from digest.sections import SECTION_BY_KEY, fallback_note
from digest.settings import Settings
from digest.store.sqlite import SqliteStore
from digest.summarize.llm import BriefSummarizer, make_client
from digest.urls import urls
from digest.verify import figures
from tests.fakes.openai import HOSTILE_FIGURE

REFERENCE_DAYS = [date(2026, 1, 8), date(2026, 2, 2), date(2026, 2, 10), date(2026, 2, 13)]
ARXIV_DAY = date(2026, 2, 2)
PUBLIC_URL = "https://digest.example.org"
HANGUL = re.compile(r"[\uac00-\ud7a3]")


@dataclass
class Built:
    digest: Digest
    surfaces: dict[str, str]  # surface name -> everything it shows, as one text


async def build_and_render(settings: Settings, day: date, lang: Lang, tmp: Path) -> Built:
    store = SqliteStore(tmp / "store.sqlite3")
    client = make_client(settings)
    try:
        summarizer = BriefSummarizer(settings, store, client)
        result = await pipeline.build(settings, store, day, source="sample", lang=lang, summarizer=summarizer)
        digest = result.digest
        surfaces = {"markdown": result.markdown}
        telegram = [p.html for p in paginate(header_blocks(digest))]
        for item in digest.items:
            telegram += [p.html for p in paginate(paper_blocks(item, lang, day, PUBLIC_URL))]
            everything = paper_reply(digest, item, SECTION_BY_KEY["all"], lang, PUBLIC_URL)  # the "all" button
            telegram += [p.html for p in reply_pieces(everything)]
        surfaces["telegram"] = "\n".join(telegram)
        slack = [digest_message(digest, PUBLIC_URL), *(brief_message(i, lang) for i in digest.items)]
        surfaces["slack"] = json.dumps(slack, ensure_ascii=False)
        asked = ["/digest", *(f"/paper {i.rank} all" for i in digest.items)]
        replies = [await answer(q, store, lang=lang, today=day, public_url=PUBLIC_URL, default_day=day) for q in asked]
        surfaces["ask"] = "\n\n".join(reply_to_text(r) for r in replies)
        app = create_app(settings, store)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as web:
            page = await web.get(f"/d/{day}", params={"lang": lang})
        assert page.status_code == 200
        surfaces["web"] = page.text
        return Built(digest, surfaces)
    finally:
        if client is not None:
            await client.close()
        await store.close()


def paper_section_lines(markdown: str) -> list[set[str]]:
    """For each paper, the lines of its brief sections (not its links or figures, which are its own metadata)."""
    papers = re.split(r"^## \d+\. \[", markdown, flags=re.M)[1:]
    out = []
    for paper in papers:
        lines: set[str] = set()
        keep = False
        for line in paper.split("\n"):
            if line.startswith("## "):
                break
            if line.startswith("### "):
                keep = not line.startswith(("### 🔗", "### 🖼️"))
                continue
            if keep and line.strip() and line.strip() != "---":
                lines.add(line.strip())
        out.append(lines)
    return out


def assert_model_text_checked(built: Built) -> None:
    """Every figure a model wrote is in the abstract or listed as unsupported; every URL it wrote is the paper's."""
    digest = built.digest
    for item in digest.items:
        known = {f.value.normalize() for f in figures(item.paper.abstract, words=True)}
        own = {link for _, link in item.paper.links()}
        for text in item.brief.model_written():
            for figure in figures(text):
                assert figure.value.normalize() in known or figure.text in item.checks.unsupported_numbers, text
            assert set(urls(text)) <= own, text
    known = {f.value.normalize() for i in digest.items for f in figures(i.paper.abstract, words=True)}
    own = {link for i in digest.items for _, link in i.paper.links()}
    flagged = digest.parts_source.checks.unsupported_numbers
    for text in [*digest.daily_actions, *(k for h in digest.highlights for k in h.keywords)]:
        for figure in figures(text):
            assert figure.value.normalize() in known or figure.text in flagged, text
        assert set(urls(text)) <= own, text


def settings_for(make_settings, fake_openai, with_llm: bool) -> Settings:
    if not with_llm:
        return make_settings()  # the default model: the golden briefs are its cache on the Korean sample days
    return make_settings(
        openai_api_key="sk-test-content-0123456789abcdef",
        openai_base_url=fake_openai.base_url,
        model="fake-model",
        llm_retries=0,
    )


@pytest.mark.parametrize("with_llm", [False, True], ids=["offline", "fake-llm"])
@pytest.mark.parametrize("lang", ["ko", "en"])
@pytest.mark.parametrize("day", REFERENCE_DAYS, ids=str)
async def test_every_reference_day_reads_well_on_every_surface(
    day, lang, with_llm, make_settings, fake_openai, tmp_path
):
    built = await build_and_render(settings_for(make_settings, fake_openai, with_llm), day, lang, tmp_path)
    digest, surfaces = built.digest, built.surfaces
    assert len(digest.items) == 5
    # No line of the papers' sections repeats in three or more papers: nothing generic fills a section.
    counts = Counter(line for lines in paper_section_lines(surfaces["markdown"]) for line in lines)
    repeated = {line: n for line, n in counts.items() if n >= 3}
    assert not repeated, repeated
    for name, text in surfaces.items():
        assert "( " not in text and "()" not in text, name  # nothing left by link scrubbing
        if lang == "en":  # no Korean in an English digest (the papers' own text is English)
            korean = set(HANGUL.findall(text.replace("한국어", "")))  # the web page's link to the Korean page
            assert not korean, (name, sorted(korean)[:10])
        if day == ARXIV_DAY:  # arXiv counts no votes: none is printed
            assert "Upvotes" not in text and "👍" not in text, name
    assert_model_text_checked(built)
    # Levels are shown only where something assessed them, in the reader's language.
    assessed = [i for i in digest.items if i.brief.difficulty]
    assert bool(assessed) == (with_llm or (lang == "ko" and day == date(2026, 2, 13)))
    if lang == "en":
        assert ("**Adoption difficulty**: Medium" in surfaces["markdown"]) == bool(assessed)
    # A brief nobody wrote says where its text came from: the source it really came from.
    source = "arXiv" if day == ARXIV_DAY else "Hugging Face"
    for item in digest.items:
        if item.brief.origin == "fallback":
            assert source in (fallback_note(item, lang) or "")
    # Top issues have keywords wherever the briefs have tags (arXiv days included).
    if with_llm:
        assert all(h.keywords for h in digest.highlights)
    # The day's actions are different concrete steps (never the same generic one).
    assert len(set(digest.daily_actions)) == len(digest.daily_actions)


async def test_a_hostile_model_cannot_put_a_figure_or_a_link_past_the_checks(make_settings, fake_openai, tmp_path):
    """The model writes 99.7% and [링크](http://evil.example) into every brief and into the top issues and actions."""
    fake_openai.hostile = True
    built = await build_and_render(settings_for(make_settings, fake_openai, True), date(2026, 2, 10), "ko", tmp_path)
    digest = built.digest
    assert digest.parts_source.origin == "llm"
    assert HOSTILE_FIGURE in digest.parts_source.checks.unsupported_numbers  # flagged on the digest-level parts
    assert all(HOSTILE_FIGURE in i.checks.unsupported_numbers for i in digest.items)
    for name, text in built.surfaces.items():
        assert "evil.example" not in text, name  # not as a link, not as text
        assert "( " not in text and "()" not in text, name
    assert "초록에서 확인되지 않은 수치: 99.7%" in built.surfaces["markdown"]
    assert "초록에서 확인되지 않은 수치: 99.7%" in built.surfaces["web"]
    assert_model_text_checked(built)


def test_an_offline_brief_shows_each_piece_of_text_once_labelled_in_its_own_language():
    paper = Paper(
        id="2602.00001",
        title="T",
        url="https://huggingface.co/papers/2602.00001",
        abstract="First sentence here. Second sentence follows. Third one ends it.",
        ai_keywords=["alpha", "beta"],
    )
    from digest.sections import SECTION_BY_KEY
    from digest.summarize.offline import offline_brief

    brief = offline_brief(paper, "ko")
    assert (
        brief.one_liner == "First sentence here." and brief.abstract_ko == "Second sentence follows. Third one ends it."
    )
    assert brief.key_points == [] and brief.risks == [] and brief.developer_view == "" and brief.difficulty is None
    assert set(brief.provenance.values()) == {"extracted"}
    heading = SECTION_BY_KEY["abstract"].heading("ko", brief.written_by("abstract_ko"))
    assert heading == "📝 초록 원문 (영어)"  # not "초록 기반 상세 설명", which is a model's explanation


def test_a_brief_stored_before_provenance_loses_its_filler_on_read():
    """Bodies written by earlier versions (schema 2): an offline brief, and a golden brief padded with the
    offline filler, as the store reads them."""
    from digest.models import Brief
    from digest.store import schema

    offline = schema.load(
        Brief,
        {
            "schema_version": 2,
            "one_liner": "Direct alignment methods are widely used.",
            "key_points": ["Weighted loss methods may not help.", "It then adds practical heuristics."],
            "developer_view": "No LLM brief, so no developer's view. Read the abstract and released material.",
            "actions": [
                "Check the experimental setup and reported figures in the abstract and PDF",
                "Compare with earlier methods for the same problem",
            ],
            "risks": [
                "Extracted without an LLM: read the paper itself for its limitations and risks.",
                "The reported figures are the authors' claims and have not been reproduced independently.",
            ],
            "uncertainty": "An automatic extract of the abstract's sentences, without interpretation or assessment.",
            "abstract_ko": "Direct alignment methods are widely used. Weighted loss methods may not help. It then adds "
            "practical heuristics.",
            "tags": [],
            "difficulty": "중",
            "confidence": "하",
            "origin": "fallback",
        },
    )
    assert (offline.key_points, offline.developer_view, offline.actions, offline.risks, offline.uncertainty) == (
        [],
        "",
        [],
        [],
        "",
    )
    assert (offline.difficulty, offline.confidence) == (None, None)
    assert set(offline.provenance.values()) == {"extracted"}
    old_golden = {
        "schema_version": 2,
        "one_liner": "LLM의 추론 과정을 진화 알고리즘과 결합했습니다.",
        "key_points": ["진화적 궤적 최적화 기법을 도입했습니다."],
        "developer_view": "LLM 요약이 없어 개발자 관점 분석은 생략했습니다. 키워드: alpha mining. 초록과 공개 자료를 "
        "직접 확인하세요.",
        "actions": [
            "초록과 PDF에서 실험 설정과 보고된 수치를 확인하기",
            "공개된 코드( 내려받아 예제를 실행해 보기",
        ],
        "risks": ["LLM 없이 자동 추출한 요약이라 한계와 리스크는 원문에서 직접 확인해야 합니다."],
        "uncertainty": "LLM 없이 초록 문장을 그대로 옮긴 자동 요약입니다. 해석과 평가는 포함되지 않았습니다.",
        "abstract_ko": "금융 시장은 노이즈가 심합니다.",
        "tags": ["alpha mining", "quantitative finance"],
        "difficulty": "중",
        "confidence": "하",
        "origin": "llm",
    }
    golden = schema.load(Brief, old_golden)
    assert golden.provenance == {
        "one_liner": "reference",
        "abstract_ko": "reference",
        "key_points": "reference",
        "tags": "extracted",
    }
    assert (golden.developer_view, golden.actions, golden.risks, golden.uncertainty, golden.difficulty) == (
        "",
        [],
        [],
        "",
        None,
    )
    # A digest of that version: its briefs are upgraded the same way, and its arXiv papers lose the 0 votes they
    # never had.
    paper = {
        "id": "2602.02495",
        "title": "T",
        "url": "https://arxiv.org/abs/2602.02495",
        "upvotes": 0,
        "source": "arxiv",
    }
    old_digest = {
        "schema_version": 2,
        "date": "2026-02-02",
        "generated_at": "2026-02-03T08:00:00+09:00",
        "items": [{"rank": 1, "paper": paper, "brief": {k: v for k, v in old_golden.items() if k != "schema_version"}}],
    }
    digest = schema.load(Digest, old_digest)
    assert digest.items[0].paper.upvotes is None
    assert digest.items[0].brief == golden

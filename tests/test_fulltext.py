"""Full text: the LaTeXML and PDF parses, the passages, the stored form, and fetching from the fake arXiv web."""

from __future__ import annotations

import asyncio
import itertools
import time
import zlib
from pathlib import Path

import pytest

from digest.fulltext import html as html_parse
from digest.fulltext.fetch import HTML_MAX_BYTES, USER_AGENT
from digest.fulltext.html import parse_html
from digest.fulltext.library import FullTexts
from digest.fulltext.model import SCHEMA_VERSION, FullText, NoFullText, Section, pack, unpack
from digest.fulltext.outline import outline_command
from digest.fulltext.pdf import parse_pdf
from digest.fulltext.ref import PaperRefError, parse_paper_ref
from digest.sources._http import Pacer
from digest.store.sqlite import SqliteStore
from tests.fakes.arxiv_web import FIXTURES, atlas_pdf, latexml_page, paper_pdf
from tests.fakes.base import Fault

PSN = FIXTURES / "2601.03509v1.html"
PAGE = "https://arxiv.org/html/2601.03509v1"
# Text that is on the fixture pages only inside scripts, styles, references, footnotes, SVG or page chrome.
NEVER_TEXT = (
    "TRACKING",
    "INLINE SCRIPT",
    "STYLE TEXT",
    "BIBLIOGRAPHY",
    "FOOTNOTE",
    "FOOTER TEXT",
    "SVG LABEL",
    "Report issue",
    "alert(",
)


def everything(text: FullText) -> str:
    """Every string a FullText holds (text, captions, URLs), to search for what must not be there."""
    return text.model_dump_json()


def psn(page_url: str = PAGE) -> FullText:
    parsed = parse_html(PSN.read_bytes(), page_url=page_url, paper_id="2601.03509", version=1)
    assert parsed is not None
    return parsed


# The LaTeXML parse


def test_a_latexml_page_gives_title_abstract_and_numbered_sections():
    text = psn()
    assert text.source == "html" and text.title == "Evolving Programmatic Skill Networks"
    assert text.abstract.startswith("We study continual skill acquisition")
    assert [(s.number, s.heading, s.anchor, s.level) for s in text.sections] == [
        ("1", "Introduction", "S1", 1),
        ("2", "Programmatic Skill Networks", "S2", 1),
        ("2.1", "REFLECT: structured fault localisation", "S2.SS1", 2),
        ("2.2", "Maturity-aware update gating", "S2.SS2", 2),
        ("3", "Experiments", "S3", 1),
        ("4", "Conclusion", "S4", 1),
        ("A", "Prompts", "A1", 1),  # an appendix after the references is kept; the references are not
    ]
    intro = text.sections[0].paragraphs
    assert len(intro) == 2 and intro[0].startswith("Agents in open-ended worlds such as MineDojo and Crafter")
    # Inline markup adds no spaces (a quote of the paragraph is found verbatim); math reads as its TeX.
    assert "a program \\pi_{k} that may call other nodes" in intro[1]
    assert "language model: REFLECT for structured fault localisation" in intro[1]
    assert "m_{k}\\leftarrow m_{k}+\\mathbb{1}[\\text{success}]" in text.sections[1].paragraphs[0]
    # A run-in \paragraph heading leads its paragraph.
    assert text.sections[3].paragraphs == [
        "Gating. A mature skill is only replaced when the candidate succeeds on every task the old skill solved; "
        "an immature skill is updated freely."
    ]


def test_figures_resolve_against_the_page_url_with_their_captions():
    text = psn("http://127.0.0.1:8123/html/2601.03509v1")
    assert [(f.number, f.image_url, f.anchor) for f in text.figures] == [
        ("1", "http://127.0.0.1:8123/html/2601.03509v1/x1.png", "S1.F1"),
        ("2", "http://127.0.0.1:8123/html/2601.03509v1/x2.png", "S2.F2"),  # its panels are not figures
        ("3", None, "S3.F3"),  # drawn in SVG: a caption, no image
    ]
    assert text.figures[0].caption.startswith("Overview of the Programmatic Skill Network. Skills are executable")
    assert text.figures[1].caption == "Skill reuse over the course of training in MineDojo (a) and Crafter (b)."
    assert [(t.number, t.caption, t.anchor) for t in text.tables] == [
        ("1", "Task groups used in the evaluation.", "S3.T1")
    ]
    assert text.tables[0].text == "Environment | Task group\nMineDojo | tool crafting\nCrafter | achievements"
    # Captions are not body text.
    assert not any("Overview of the Programmatic" in p for s in text.sections for p in s.paragraphs)


def test_scripts_styles_references_footnotes_and_page_chrome_never_become_text():
    dump = everything(psn())
    for marker in NEVER_TEXT:
        assert marker not in dump, marker
    assert "javascript" not in dump.lower()
    assert "A link that must not become a URL" in dump  # the link's text stays, its target does not


def test_image_urls_follow_base_href_and_stay_on_the_pages_host():
    page = (
        b'<html><head><base href="/html/2601.00001v2/"></head><body><article class="ltx_document">'
        b'<section class="ltx_section" id="S1"><h2 class="ltx_title">Intro</h2>'
        b'<div class="ltx_para"><p class="ltx_p">Body text.</p></div>'
        b'<figure class="ltx_figure" id="F1"><img src="x1.png"><figcaption>one</figcaption></figure>'
        b'<figure class="ltx_figure" id="F2"><img src="javascript:alert(1)" onerror="alert(2)">'
        b'<img src="data:image/png;base64,AAAA"><img src="https://tracker.example/p.png">'
        b'<img src="//tracker.example/q.png"><img src="http://[broken/x.png"><figcaption>two</figcaption></figure>'
        b'<figure class="ltx_figure" id="F3"><img src="/html/2601.00001v2/sub/x3.png"><figcaption>three</figcaption>'
        b"</figure></section></article></body></html>"
    )
    text = parse_html(page, page_url="https://arxiv.org/html/2601.00001v2", paper_id="2601.00001", version=2)
    assert text is not None
    assert [(f.caption, f.image_url) for f in text.figures] == [
        ("one", "https://arxiv.org/html/2601.00001v2/x1.png"),
        ("two", None),
        ("three", "https://arxiv.org/html/2601.00001v2/sub/x3.png"),
    ]
    # A <base> pointing at another host is ignored: images resolve against the page itself.
    other = page.replace(b'href="/html/2601.00001v2/"', b'href="https://evil.example/"')
    text = parse_html(other, page_url="https://arxiv.org/html/2601.00001v2", paper_id="2601.00001", version=2)
    assert text is not None and text.figures[0].image_url == "https://arxiv.org/html/x1.png"


def test_a_hostile_page_gives_a_bounded_full_text():
    word = "spam " * 4000  # 20,000 characters a paragraph
    paragraphs = "".join(
        f'<div class="ltx_para"><p class="ltx_p">{word}<script>STEAL()</script>'
        f'<img src="javascript:x" onerror="alert(1)"></p></div>'
        for _ in range(1100)
    )
    page = (
        '<html><body><article class="ltx_document"><h1 class="ltx_title_document">T</h1>'
        f'<section class="ltx_section" id="S1"><h2 class="ltx_title">Flood</h2>{paragraphs}</section>'
        "</article></body></html>"
    ).encode()
    assert len(page) > 20 * 2**20
    text = parse_html(page, page_url=PAGE, paper_id="2601.00002", version=1)
    assert text is not None and text.truncated
    assert text.text_chars <= html_parse.MAX_TEXT_CHARS
    assert "STEAL" not in everything(text) and "javascript" not in everything(text)
    assert len(pack(text)) < 200_000  # what the store keeps of it


def test_a_page_built_to_blow_up_the_tree_is_parsed_only_up_to_the_tag_bound():
    empty_tags = b"<i></i>" * (html_parse.MAX_TAGS // 2 + 50_000)
    page = (
        b'<article class="ltx_document"><section class="ltx_section" id="S1"><h2 class="ltx_title">A</h2>'
        b'<div class="ltx_para"><p class="ltx_p">First.</p>' + empty_tags + b"</div></section>"
        b'<section class="ltx_section" id="S2"><h2 class="ltx_title">B</h2>'
        b'<div class="ltx_para"><p class="ltx_p">Beyond the bound.</p></div></section></article>'
    )
    text = parse_html(page, page_url=PAGE, paper_id="2601.00004", version=1)
    assert text is not None and text.truncated and text.fetched_bytes == len(page)
    assert [(s.heading, s.paragraphs) for s in text.sections] == [("A", ["First."])]


def test_broken_and_truncated_markup_still_parses_what_is_there():
    whole = PSN.read_bytes()
    cut = whole[: whole.index(b"Programmatic Skill Networks</h2>") + 60]  # mid-paragraph of section 2
    text = parse_html(cut, page_url=PAGE, paper_id="2601.03509", version=1, truncated=True)
    assert text is not None and text.truncated
    assert [s.number for s in text.sections] == ["1", "2"]
    assert text.figures[0].image_url == f"{PAGE}/x1.png"
    broken = (
        b'<article class="ltx_document"><section class="ltx_section" id="S1"><h2 class="ltx_title">A</h2>'
        b'<div class="ltx_para"><p class="ltx_p">unclosed <b>bold <i>and italic</div></span></section>'
        b'<section class="ltx_section" id="S2"><h2 class="ltx_title">B</h2><div class="ltx_para"><p class="ltx_p">next'
    )
    text = parse_html(broken, page_url=PAGE, paper_id="2601.03509", version=1)
    assert text is not None
    assert [(s.heading, s.paragraphs) for s in text.sections] == [("A", ["unclosed bold and italic"]), ("B", ["next"])]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html><body><h1>Not Found</h1><p>No HTML for this paper.</p></body></html>",
        b'<article class="ltx_document"></article>',
        b"\x00\xff\xfe" * 1000,
        atlas_pdf(),
    ],
    ids=["empty", "error page", "empty article", "binary", "a pdf"],
)
def test_a_page_that_is_not_a_latexml_article_is_not_full_text(body):
    assert parse_html(body, page_url=PAGE, paper_id="2601.03509", version=1) is None


# The PDF parse


def test_a_pdf_gives_numbered_sections_and_drops_the_references():
    text = parse_pdf(atlas_pdf(), page_url="https://arxiv.org/pdf/2601.03872v1", paper_id="2601.03872", version=1)
    assert text is not None and text.source == "pdf"
    assert text.title.startswith("Atlas: Orchestrating Heterogeneous Models")
    assert text.abstract == "ATLAS orchestrates heterogeneous models and tools for multi-domain complex reasoning."
    assert [(s.number, s.heading) for s in text.sections] == [("1", "Introduction"), ("2", "Method"), ("3", "Conclusion")]
    assert text.sections[0].paragraphs[0].startswith("Pairing large language models with external tools")
    assert "BIBLIOGRAPHY" not in everything(text)
    assert text.figures == [] and text.link("S1") is None


@pytest.mark.parametrize(
    "body",
    [
        b"<html>not a pdf</html>",
        b"%PDF-1.7\n" + b"garbage " * 1000,
        atlas_pdf()[: len(atlas_pdf()) // 2],
        b"",
    ],
    ids=["html", "pdf header then garbage", "cut in half", "empty"],
)
def test_a_pdf_that_is_not_a_readable_pdf_gives_none_without_raising(body):
    assert parse_pdf(body, page_url="https://arxiv.org/pdf/x", paper_id="2601.03872", version=1) is None


# Passages, grounding, the stored form


def test_passages_have_stable_unique_ids_with_their_section_and_anchor():
    text = psn()
    passages = text.passages()
    ids = [p.id for p in passages]
    assert len(ids) == len(set(ids))
    assert ids[:4] == ["abs", "S1.p1", "S1.p2", "S2.p1"]
    assert "S2.SS2.p1" in ids and "S1.F1" in ids and "S3.T1" in ids
    reflect = next(p for p in passages if p.id == "S2.SS1.p1")
    assert (reflect.section_number, reflect.section_heading, reflect.anchor) == (
        "2.1",
        "REFLECT: structured fault localisation",
        "S2.SS1",
    )
    assert text.link(reflect.anchor) == f"{PAGE}#S2.SS1"
    assert [p.id for p in psn().passages()] == ids  # the same page gives the same ids
    long = text.model_copy(update={"sections": [Section(anchor="S9", paragraphs=["A sentence here. " * 300])]})
    pieces = [p for p in long.passages(max_chars=500) if p.id.startswith("S9.")]
    assert [p.id for p in pieces[:3]] == ["S9.p1", "S9.p1-2", "S9.p1-3"]
    assert all(len(p.text) <= 500 for p in pieces)


def test_grounding_is_the_introduction_and_conclusion_within_the_budget():
    text = psn()
    grounding = text.grounding(budget_tokens=1000)
    assert grounding.startswith("## 1 Introduction\nAgents in open-ended worlds")
    assert "## 4 Conclusion\nTreating a skill library" in grounding
    assert "Programmatic Skill Networks\n" not in grounding
    tight = text.grounding(budget_tokens=60)
    assert len(tight) <= 60 * 4 and "## 4 Conclusion" in tight
    long = latexml_page("2601.00003", 1, "Long", pages=60)
    parsed = parse_html(long.encode(), page_url=PAGE, paper_id="2601.00003", version=1)
    assert parsed is not None and len(parsed.grounding(800)) <= 800 * 4


def test_the_stored_form_is_compressed_and_anything_unreadable_is_a_miss():
    text = psn()
    body = pack(text)
    assert len(body) < len(text.model_dump_json()) / 2
    assert unpack(body) == text
    none = NoFullText(paper_id="2601.03986", version=1, reason="no HTML; no PDF")
    assert unpack(pack(none)) == none
    assert unpack(b"not zlib") is None
    assert unpack(zlib.compress(b'{"kind": "fulltext"}')) is None
    older = text.model_copy(update={"schema_version": SCHEMA_VERSION - 1})
    assert unpack(pack(older)) is None
    bomb = zlib.compress(b" " * (40 * 2**20), 9)
    assert unpack(bomb) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2602.12205", ("2602.12205", None)),
        ("2602.12205v2", ("2602.12205", 2)),
        ("arXiv:2602.12205v3", ("2602.12205", 3)),
        ("https://arxiv.org/abs/2602.12205v2", ("2602.12205", 2)),
        ("https://arxiv.org/pdf/2602.12205v1.pdf", ("2602.12205", 1)),
        ("https://arxiv.org/html/2602.12205v4/", ("2602.12205", 4)),
        ("huggingface.co/papers/2602.12205", ("2602.12205", None)),
        (" hep-th/9901001v2 ", ("hep-th/9901001", 2)),
    ],
)
def test_paper_refs_with_and_without_a_version(text, expected):
    assert parse_paper_ref(text) == expected


@pytest.mark.parametrize("text", ["", "12205", "2602.12205v0", "../../etc/passwd", "https://example.org/abs/2602.12205"])
def test_a_bad_paper_ref_says_what_would_work(text):
    with pytest.raises(PaperRefError, match=r"e\.g\. 2602\.12205"):
        parse_paper_ref(text)


# Fetching from the fake arXiv web server


@pytest.fixture
def web_settings(make_settings, fake_arxiv_web):
    return make_settings(arxiv_web_base_url=fake_arxiv_web.url)


async def get(settings, store, paper_id: str, version: int | None = 1):
    async with FullTexts(settings, store) as library:
        return await library.get(paper_id, version)


async def test_html_first_then_the_pdf_then_no_full_text(web_settings, fake_arxiv_web, store):
    found = await get(web_settings, store, "2601.03509")
    assert isinstance(found.entry, FullText) and found.entry.source == "html" and not found.cached
    assert found.entry.url == f"{fake_arxiv_web.url}/html/2601.03509v1"
    found = await get(web_settings, store, "2601.03872")
    assert isinstance(found.entry, FullText) and found.entry.source == "pdf"
    found = await get(web_settings, store, "2601.03986")
    assert isinstance(found.entry, NoFullText) and found.entry.lasting
    assert found.entry.reason == "no HTML rendering (HTTP 404); no PDF (HTTP 404)"
    assert fake_arxiv_web.requests() == [
        "/html/2601.03509v1",
        "/html/2601.03872v1",
        "/pdf/2601.03872v1",
        "/html/2601.03986v1",
        "/pdf/2601.03986v1",
    ]
    assert all(c.headers["user-agent"] == USER_AGENT for c in fake_arxiv_web.calls)
    # Each is remembered: asking again makes no request, "no full text" included.
    for paper_id in ("2601.03509", "2601.03872", "2601.03986"):
        again = await get(web_settings, store, paper_id)
        assert again.cached
    assert len(fake_arxiv_web.calls) == 5


async def test_a_429_is_retried_after_the_time_it_asks_for(web_settings, fake_arxiv_web, store):
    path = "/html/2601.04151v1"
    fake_arxiv_web.fail_next(Fault(status=429, headers={"Retry-After": "1"}, path=path))
    found = await get(web_settings, store, "2601.04151")
    assert isinstance(found.entry, FullText) and len(found.entry.sections) > 20
    first, second = fake_arxiv_web.calls_to(path)
    assert second.at - first.at >= 1.0


async def test_requests_take_turns_on_one_connection_and_one_pacer(web_settings, fake_arxiv_web, store):
    fake_arxiv_web.fail_next(*[Fault(delay_s=0.05, path=f"/html/{p}v1") for p in ("2601.03509", "2601.02151")])
    async with FullTexts(web_settings, store) as library:
        found = await asyncio.gather(*(library.get(p, 1) for p in ("2601.03509", "2601.02151", "2601.04151")))
    assert all(isinstance(f.entry, FullText) for f in found)
    assert fake_arxiv_web.max_in_flight == 1


async def test_the_pacer_spaces_requests_by_its_interval():
    pacer = Pacer()
    stamps: list[float] = []

    async def paced() -> None:
        await pacer.wait(0.05)
        stamps.append(time.monotonic())

    await asyncio.gather(*(paced() for _ in range(4)))
    assert all(b - a >= 0.05 - 1e-3 for a, b in itertools.pairwise(stamps))


async def test_a_cut_connection_or_a_down_server_is_not_remembered(make_settings, fake_arxiv_web, store):
    fake_arxiv_web.short["2601.03509v1"] = PSN.read_bytes()
    settings = make_settings(arxiv_web_base_url=fake_arxiv_web.url)
    async with FullTexts(settings, store) as library:
        cut = await library.get("2601.03509", 1)
        later = await library.get("2601.02151", 1)  # arXiv is in trouble: the rest of the job does not ask
    assert isinstance(cut.entry, NoFullText) and not cut.entry.lasting
    assert "RemoteProtocolError" in cut.entry.reason
    assert isinstance(later.entry, NoFullText) and "arXiv unavailable" in later.entry.reason
    assert fake_arxiv_web.requests() == ["/html/2601.03509v1"] * 3  # the first attempt and two retries
    assert await store.get_fulltext("2601.03509", 1) is None
    del fake_arxiv_web.short["2601.03509v1"]
    again = await get(settings, store, "2601.03509")  # the next job tries again
    assert isinstance(again.entry, FullText)
    down = make_settings()  # nothing listens on its arXiv web URL
    found = await get(down, store, "2601.02151")
    assert isinstance(found.entry, NoFullText) and not found.entry.lasting
    assert await store.get_fulltext("2601.02151", 1) is None


async def test_a_20_mb_page_is_read_up_to_the_bound(web_settings, fake_arxiv_web, store):
    head = (
        b'<html><head><script>STEAL()</script></head><body><article class="ltx_document">'
        b'<section class="ltx_section" id="S1"><h2 class="ltx_title">Flood</h2>'
    )
    chunk = b'<div class="ltx_para"><p class="ltx_p">' + b"spam " * 200 + b"<script>STEAL()</script></p></div>"
    fake_arxiv_web.streamed["2601.09001v1"] = (head, chunk, 20 * 2**20)
    found = await get(web_settings, store, "2601.09001")
    text = found.entry
    assert isinstance(text, FullText) and text.truncated
    assert text.fetched_bytes == HTML_MAX_BYTES
    assert text.text_chars <= html_parse.MAX_TEXT_CHARS and "STEAL" not in everything(text)


async def test_a_pdf_address_that_answers_something_else_is_no_full_text(web_settings, fake_arxiv_web, store):
    fake_arxiv_web.pdf["2601.09002v1"] = b"<html><body>Sorry, not a PDF</body></html>"
    fake_arxiv_web.html["2601.09003v1"] = b"<html><body>An error page, not an article</body></html>"
    fake_arxiv_web.pdf["2601.09003v1"] = paper_pdf("A fallback PDF", [("Introduction", ["Some text here."])])
    found = await get(web_settings, store, "2601.09002")
    assert isinstance(found.entry, NoFullText) and found.entry.lasting
    assert "not a PDF" in found.entry.reason
    found = await get(web_settings, store, "2601.09003")
    assert isinstance(found.entry, FullText) and found.entry.source == "pdf"


async def test_an_unknown_version_reads_v1(web_settings, fake_arxiv_web, store):
    found = await get(web_settings, store, "2601.03509", None)
    assert found.entry.version == 1 and fake_arxiv_web.requests() == ["/html/2601.03509v1"]


async def test_the_outline_shows_sections_figures_and_sizes(web_settings, fake_arxiv_web, tmp_path: Path):
    store = SqliteStore(tmp_path / "outline.sqlite3")
    try:
        out = await outline_command(web_settings, store, "https://arxiv.org/abs/2601.03509v1")
        again = await outline_command(web_settings, store, "2601.03509")
        missing = await outline_command(web_settings, store, "2601.03986v1")
        with pytest.raises(PaperRefError):
            await outline_command(web_settings, store, "paper three")
    finally:
        await store.close()
    assert out.startswith(f"2601.03509v1 · html · {fake_arxiv_web.url}/html/2601.03509v1 (fetched now)\n")
    assert "7 sections, 8 paragraphs, 3 figures, 1 tables, 13 passages" in out
    assert "    2.1  REFLECT: structured fault localisation  #S2.SS1  [1 ¶, 188 chars]" in out
    assert f"  Figure 1  {fake_arxiv_web.url}/html/2601.03509v1/x1.png\n      Overview of the Programmatic" in out
    assert "  Figure 3  (no image: drawn in SVG on the page)" in out
    assert "stored compressed" in out and "KB fetched" in out
    assert "(from the store)" in again and again.replace("(from the store)", "(fetched now)") == out
    assert missing.startswith("2601.03986v1: no full text (fetched now; remembered for 24 h)")
    assert fake_arxiv_web.requests().count("/html/2601.03509v1") == 1


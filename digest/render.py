"""The Markdown report in the reference layout: per paper the richest sections, then the digest-level parts."""

from __future__ import annotations

import re

from digest import figures
from digest.models import Digest, Item, Lang
from digest.sections import BRIEF_SECTIONS, LABELS, SECTION_BY_KEY, section_body
from digest.text import one_line

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
# What would open a block at the start of a line: heading, quote, list, setext underline, fence, break.
_LINE_START = re.compile(r"^(\s*)(\d*)([#>+\-=~.)])")
# The Markdown marker that opens a line of _COPY ("# ", "## ", "> "): not part of the phrase itself.
_MD_MARKER = re.compile(r"^(#+|>) ")

_COPY: dict[Lang, dict[str, str]] = {
    "ko": {
        "title": "# {date} Daily Papers (Top {count})",
        "generated": "> 생성 시간({tz}): {time}",
        "sources": "> 데이터 소스: {sources}",
        "source_ok": "{label}(논문 {fetched}, 선정 {selected}{day})",
        "source_day": ", {day} 목록",
        "source_down": "{label}(수집 실패: {error})",
        "highlights": "## 오늘의 Top 이슈",
        "actions": "## 오늘의 실무 액션 {count}가지",
        "index": "## 원문 목록 (Raw Index)",
        "papers": "### 논문",
        "empty": "(선정된 논문 없음)",
        "usage": "> LLM 사용량: 호출 {calls}회, 입력 {tin} / 출력 {tout} 토큰, ${cost:.4f} (캐시 재사용 {cached}편)",
    },
    "en": {
        "title": "# {date} Daily Papers (Top {count})",
        "generated": "> Generated ({tz}): {time}",
        "sources": "> Sources: {sources}",
        "source_ok": "{label} ({fetched} papers, {selected} selected{day})",
        "source_day": ", list of {day}",
        "source_down": "{label} (unavailable: {error})",
        "highlights": "## Top issues today",
        "actions": "## {count} actions for today",
        "index": "## Raw index",
        "papers": "### Papers",
        "empty": "(no papers selected)",
        "usage": "> LLM usage: {calls} calls, {tin} in / {tout} out tokens, ${cost:.4f} ({cached} briefs from cache)",
    },
}

SOURCE_LABELS = {"huggingface": "Hugging Face Daily Papers", "arxiv": "arXiv(cs.AI/cs.LG)"}


def _escape_line(line: str) -> str:
    escaped = _MD_SPECIAL.sub(r"\\\1", line.strip())
    # "1." becomes "1\." (a backslash only escapes punctuation); "#" becomes "\#".
    return _LINE_START.sub(lambda m: m.group(1) + m.group(2) + "\\" + m.group(3), escaped, count=1)


def escape(text: str) -> str:
    """One line of text (also a list item's content): no link, emphasis, HTML, table cell or block marker."""
    return _escape_line(one_line(text))


def escape_block(text: str) -> str:
    """A paragraph that may span lines: each line escaped so none can open a heading, list, quote or fence."""
    return "\n".join(_escape_line(line) for line in text.split("\n") if line.strip())


def url(link: str) -> str:
    """A link target: parentheses and spaces percent-encoded so the Markdown link cannot end early."""
    return link.replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace("<", "%3C").replace(">", "%3E")


def phrase(lang: Lang, key: str, **values: object) -> str:
    """A phrase of the report without its Markdown marker and unescaped, for renderers that escape on their own."""
    return _MD_MARKER.sub("", _COPY[lang][key]).format(**values)


def header_phrases(digest: Digest, tz_name: str) -> dict[str, str]:
    """The header lines as plain text: title, generated, sources, usage (the report shows usage only when used)."""
    lang = digest.lang
    sources = []
    for src in digest.sources:
        label = SOURCE_LABELS.get(src.name, src.name)
        if src.error:
            sources.append(phrase(lang, "source_down", label=label, error=one_line(src.error)))
        else:
            day = phrase(lang, "source_day", day=src.day.isoformat()) if src.day and src.day != digest.date else ""
            sources.append(phrase(lang, "source_ok", label=label, fetched=src.fetched, selected=src.selected, day=day))
    tz_label = "KST" if tz_name == "Asia/Seoul" else tz_name
    u = digest.usage
    return {
        "title": phrase(lang, "title", date=digest.date.isoformat(), count=len(digest.items)),
        "generated": phrase(lang, "generated", tz=tz_label, time=digest.generated_at.strftime("%Y-%m-%d %H:%M")),
        "sources": phrase(lang, "sources", sources=", ".join(sources) or "-"),
        "usage": phrase(
            lang,
            "usage",
            calls=u.llm_calls,
            tin=u.input_tokens,
            tout=u.output_tokens,
            cost=u.cost_usd,
            cached=u.cached_briefs,
        ),
    }


def _header(digest: Digest, tz_name: str) -> list[str]:
    texts = header_phrases(digest, tz_name)
    lines = ["# " + texts["title"], "", "> " + texts["generated"], "> " + texts["sources"]]
    if digest.usage.llm_calls or digest.usage.cached_briefs:
        lines.append("> " + texts["usage"])
    for note in digest.notes:
        lines.append(f"> ⚠️ {escape(note)}")
    return lines


def _highlights(digest: Digest) -> list[str]:
    if not digest.highlights:
        return []
    lines = [_COPY[digest.lang]["highlights"]]
    for h in digest.highlights:
        keywords = ", ".join(escape(k) for k in h.keywords)
        lines.append(f"- {h.rank}) {escape(h.headline)}" + (f" — {keywords}" if keywords else ""))
    return [*lines, "", "---", ""]


def render_item(item: Item, lang: Lang) -> list[str]:
    """One paper in the reference layout: title link, meta line, tags, thumbnail, sections, links."""
    labels = LABELS[lang]
    paper, brief = item.paper, item.brief
    lines = [
        f"## {item.rank}. [{escape(paper.title)}]({url(paper.url)})",
        f"**{labels['upvotes']}**: {paper.upvotes} | **{labels['difficulty']}**: {brief.difficulty} | "
        f"**{labels['confidence']}**: {brief.confidence}",
        "",
    ]
    if brief.tags:
        lines += [f"**{labels['tags']}**: " + ", ".join(escape(t) for t in brief.tags), ""]
    if paper.thumbnail:
        lines += [f"![Thumbnail]({url(paper.thumbnail)})", ""]
    if brief.origin == "fallback":
        lines += [f"> {labels['fallback']}", ""]
    if item.checks.unsupported_numbers:
        numbers = ", ".join(escape(n) for n in item.checks.unsupported_numbers)
        lines += [f"> {labels['unsupported']}: {numbers}", ""]
    for section in BRIEF_SECTIONS:
        body = section_body(section, brief)
        lines.append(f"### {section.heading(lang)}")
        if isinstance(body, list):
            lines += [f"- {escape(entry)}" for entry in body]
        else:
            lines.append(escape_block(body))
        lines.append("")
    lines += _figures(item, lang)
    lines.append(f"### {SECTION_BY_KEY['links'].heading(lang)}")
    lines += [f"- [{label}]({url(link)})" for label, link in paper.links()]
    return [*lines, "", "---", ""]


def _figures(item: Item, lang: Lang) -> list[str]:
    """The paper's first figures with their captions, from its full text; nothing without one."""
    shown = [f for f in item.figures if f.image_url]
    if not shown:
        return []
    lines = [f"### {figures.HEADING[lang]}"]
    for position, figure in enumerate(shown, 1):
        name = escape(figures.label(figure, lang, position))
        lines += [f"![{name}]({url(figure.image_url or '')})", ""]
        if figure.caption:
            lines += [f"*{name}.* {escape(figure.caption)}", ""]
    return lines


def _daily_actions(digest: Digest) -> list[str]:
    if not digest.daily_actions:
        return []
    lines = [_COPY[digest.lang]["actions"].format(count=len(digest.daily_actions))]
    lines += [f"{n}) {escape(action)}" for n, action in enumerate(digest.daily_actions, 1)]
    return [*lines, ""]


def _raw_index(digest: Digest) -> list[str]:
    copy = _COPY[digest.lang]
    lines = [copy["index"], copy["papers"]]
    entries = [f"- {escape(i.paper.title)} — {i.paper.arxiv_url or i.paper.url}" for i in digest.items]
    return [*lines, *(entries or [f"- {copy['empty']}"])]


def render_markdown(digest: Digest, tz_name: str = "Asia/Seoul") -> str:
    lines = [*_header(digest, tz_name), "", *_highlights(digest)]
    for item in digest.items:
        lines += render_item(item, digest.lang)
    lines += _daily_actions(digest) + _raw_index(digest)
    return "\n".join(lines).rstrip() + "\n"

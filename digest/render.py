"""The Markdown report in the reference layout: per paper the richest sections, then the digest-level parts."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from digest import figures
from digest.models import Digest, Item, Lang, Ranking
from digest.sections import LABELS, SECTION_BY_KEY, fallback_note, meta_fields, present_sections, section_body
from digest.sections import section_heading as heading_of
from digest.sources.registry import source_label
from digest.text import one_line

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")
# What would open a block at the start of a line: heading, quote, list ("-", "+", "1." or "1)"), setext underline,
# fence, break. Digits followed by anything else ("2026-02-13") open nothing.
_LINE_START = re.compile(r"^(\s*)(\d*)([.)])|^(\s*)()([#>+\-=~*])")
# The Markdown marker that opens a line of _COPY ("# ", "## ", "> "): not part of the phrase itself.
_MD_MARKER = re.compile(r"^(#+|>) ")

_COPY: dict[Lang, dict[str, str]] = {
    "ko": {
        "title": "# {date} Daily Papers (Top {count})",
        "title_empty": "# {date} Daily Papers",
        "generated": "> 생성 시간({tz}): {time}",
        "sources": "> 데이터 소스: {sources}",
        "source_ok": "{label}(논문 {fetched}, 선정 {selected}{day})",
        "source_day": ", {day} 목록",
        "source_down": "{label}(수집 실패: {error})",
        "highlights": "## 오늘의 Top 이슈",
        "actions": "## 오늘의 실무 액션 {count}가지",
        "actions_one": "## 오늘의 실무 액션 1가지",
        "index": "## 원문 목록 (Raw Index)",
        "papers": "### 논문",
        "usage": "> LLM 사용량: 호출 {calls}회{failed}, 입력 {tin} / 출력 {tout} 토큰, ${cost:.4f} (캐시 재사용 {cached}편)",
        "failed_calls": "(실패 {count}회)",
        "ranking_upvotes": "순위: Hugging Face 추천 수",
        "ranking_hf_upvotes": "순위: 같은 논문의 Hugging Face 추천 수(없는 논문은 최신 제출순)",
        "ranking_newest": "순위: 최신 제출순(arXiv에는 추천 수가 없습니다)",
        "parts_unsupported": "⚠️ 초록에서 확인되지 않은 수치: {numbers}",
    },
    "en": {
        "title": "# {date} Daily Papers (Top {count})",
        "title_empty": "# {date} Daily Papers",
        "generated": "> Generated ({tz}): {time}",
        "sources": "> Sources: {sources}",
        "source_ok": "{label} ({fetched} papers, {selected} selected{day})",
        "source_day": ", list of {day}",
        "source_down": "{label} (unavailable: {error})",
        "highlights": "## Top issues today",
        "actions": "## {count} actions for today",
        "actions_one": "## 1 action for today",
        "index": "## Raw index",
        "papers": "### Papers",
        "usage": "> LLM usage: {calls} calls{failed}, {tin} in / {tout} out tokens, ${cost:.4f} ({cached} briefs from "
        "cache)",
        "failed_calls": " ({count} failed)",
        "ranking_upvotes": "ranked by Hugging Face upvotes",
        "ranking_hf_upvotes": "ranked by the Hugging Face upvotes of the same papers (newest first where it has none)",
        "ranking_newest": "ranked newest first (arXiv has no votes)",
        "parts_unsupported": "⚠️ Figures not found in any abstract: {numbers}",
    },
}


def _escape_line(line: str) -> str:
    escaped = _MD_SPECIAL.sub(r"\\\1", line.strip())
    # "1." becomes "1\." (a backslash only escapes punctuation); "#" becomes "\#".
    return _LINE_START.sub(
        lambda m: (m.group(1) or m.group(4) or "") + (m.group(2) or "") + "\\" + (m.group(3) or m.group(6)),
        escaped,
        count=1,
    )


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


def title(digest: Digest) -> str:
    """ "2026-02-13 Daily Papers (Top 5)"; a day with no papers has no "Top 0"."""
    key = "title" if digest.items else "title_empty"
    return phrase(digest.lang, key, date=digest.date.isoformat(), count=len(digest.items))


def highlights_heading(lang: Lang) -> str:
    return phrase(lang, "highlights")


def actions_heading(digest: Digest) -> str:
    """ "오늘의 실무 액션 3가지" / "3 actions for today" (one action is not "1 actions")."""
    count = len(digest.daily_actions)
    return phrase(digest.lang, "actions_one" if count == 1 else "actions", count=count)


def ranking_phrase(lang: Lang, ranking: Ranking | None) -> str:
    return _COPY[lang][f"ranking_{ranking}"] if ranking else ""


def sources_phrase(digest: Digest) -> str:
    """Each source with its counts, and what ranked the papers: "Hugging Face Daily Papers(논문 8, 선정 5) · 순위: …"."""
    lang = digest.lang
    sources = []
    rankings = []
    for src in digest.sources:
        label = source_label(src.name)
        if src.error:
            sources.append(phrase(lang, "source_down", label=label, error=one_line(src.error)))
        else:
            day = phrase(lang, "source_day", day=src.day.isoformat()) if src.day and src.day != digest.date else ""
            sources.append(phrase(lang, "source_ok", label=label, fetched=src.fetched, selected=src.selected, day=day))
            if src.selected and src.ranking:
                rankings.append(ranking_phrase(lang, src.ranking))
    return " · ".join([", ".join(sources) or "-", *rankings])


def usage_used(digest: Digest) -> bool:
    u = digest.usage
    return bool(u.llm_calls or u.cached_briefs or u.failed_calls)


def tz_label(tz_name: str | None, when: datetime) -> str:
    """How the generation time's zone is written: "KST" for Asia/Seoul (as the reference does), else the zone's
    name, or its UTC offset when only the stored time is known."""
    if tz_name is None:
        offset = when.utcoffset()
        if offset is None:
            return "UTC"
        if offset == timedelta(hours=9):
            return "KST"
        minutes = int(offset.total_seconds() // 60)
        return (
            "UTC"
            if minutes == 0
            else f"UTC{'+' if minutes > 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
        )
    return "KST" if tz_name == "Asia/Seoul" else tz_name


def header_phrases(digest: Digest, tz_name: str | None) -> dict[str, str]:
    """The header lines as plain text: title, generated, sources, usage (the report shows usage only when used).
    `tz_name` is the deployment's timezone; None labels the time by its stored UTC offset."""
    lang = digest.lang
    tz = tz_label(tz_name, digest.generated_at)
    u = digest.usage
    failed = _COPY[lang]["failed_calls"].format(count=u.failed_calls) if u.failed_calls else ""
    return {
        "title": title(digest),
        "generated": phrase(lang, "generated", tz=tz, time=digest.generated_at.strftime("%Y-%m-%d %H:%M")),
        "sources": phrase(lang, "sources", sources=sources_phrase(digest)),
        "usage": phrase(
            lang,
            "usage",
            calls=u.llm_calls,
            failed=failed,
            tin=u.input_tokens,
            tout=u.output_tokens,
            cost=u.cost_usd,
            cached=u.cached_briefs,
        ),
    }


def parts_note(digest: Digest) -> str | None:
    """The figures of the model-written top issues and actions that no abstract has, if any."""
    numbers = digest.parts_source.checks.unsupported_numbers
    return _COPY[digest.lang]["parts_unsupported"].format(numbers=", ".join(numbers)) if numbers else None


def _header(digest: Digest, tz_name: str) -> list[str]:
    texts = header_phrases(digest, tz_name)
    lines = ["# " + texts["title"], "", "> " + texts["generated"], "> " + texts["sources"]]
    if usage_used(digest):
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
    if not digest.daily_actions and (note := parts_note(digest)) is not None:
        lines += ["", f"> {escape(note)}"]
    return [*lines, "", "---", ""]


def render_item(item: Item, lang: Lang) -> list[str]:
    """One paper in the reference layout: title link, meta line, tags, thumbnail, sections, links."""
    labels = LABELS[lang]
    paper, brief = item.paper, item.brief
    lines = [f"## {item.rank}. [{escape(paper.title)}]({url(paper.url)})"]
    meta = " | ".join(f"**{label}**: {escape(value)}" for label, value in meta_fields(item, lang))
    lines += [meta, ""] if meta else [""]
    if brief.tags:
        lines += [f"**{labels['tags']}**: " + ", ".join(escape(t) for t in brief.tags), ""]
    if paper.thumbnail:
        lines += [f"![Thumbnail]({url(paper.thumbnail)})", ""]
    if (note := fallback_note(item, lang)) is not None:
        lines += [f"> {escape(note)}", ""]
    if item.checks.unsupported_numbers:
        numbers = ", ".join(escape(n) for n in item.checks.unsupported_numbers)
        lines += [f"> {labels['unsupported']}: {numbers}", ""]
    for section in present_sections(brief):
        body = section_body(section, brief)
        lines.append(f"### {heading_of(section, brief, lang)}")
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
    lines = ["## " + actions_heading(digest)]
    lines += [f"{n}) {escape(action)}" for n, action in enumerate(digest.daily_actions, 1)]
    if (note := parts_note(digest)) is not None:
        lines += ["", f"> {escape(note)}"]
    return [*lines, ""]


def _raw_index(digest: Digest) -> list[str]:
    """The papers' own links; a day without papers has none (its note in the header already says why)."""
    if not digest.items:
        return []
    copy = _COPY[digest.lang]
    entries = [f"- {escape(i.paper.title)} — {i.paper.arxiv_url or i.paper.url}" for i in digest.items]
    return [copy["index"], copy["papers"], *entries]


def render_markdown(digest: Digest, tz_name: str = "Asia/Seoul") -> str:
    lines = [*_header(digest, tz_name), "", *_highlights(digest)]
    for item in digest.items:
        lines += render_item(item, digest.lang)
    lines += _daily_actions(digest) + _raw_index(digest)
    return "\n".join(lines).rstrip() + "\n"

"""Full text: parse time and peak memory for a 60-page HTML paper and a 40-page PDF, and a 5-paper build with and
without full text against the fake arXiv web server.

Run from the repository root: `.venv/bin/python -m bench.fulltext`. Prints one JSON object; not pass/fail in CI.
Targets: the HTML parse under 1 s, the PDF parse under 3 s, each under 150 MB peak (the resident set of the process
that parses, interpreter included, measured in a fresh process per input); the extra time of a build with full
text is the polite delay between its requests (DIGEST_ARXIV_WEB_MIN_INTERVAL, 1 s), not parsing. Also a hostile
page: 10 MB of tags (the body bound), to show what the tag bound keeps the tree to.
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from digest.settings import Settings
    from digest.store.sqlite import SqliteStore

# The parse runs in a child process that imports only the parsers (see `child`), so its peak memory is the
# parse's and the interpreter's, not that of the web server, the pipeline and the PDF writer used here.

DAY = date(2026, 1, 8)
RUNS = 3
HOSTILE_BYTES = 10 * 2**20  # the HTML body bound: the most a page can hand the parser


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def child(kind: str, path: str) -> dict[str, float | int | bool]:
    """In a fresh process: parse the file RUNS times; the time of each, the peak resident set."""
    from digest.fulltext.html import parse_html
    from digest.fulltext.model import pack
    from digest.fulltext.pdf import parse_pdf

    body = Path(path).read_bytes()
    before = _rss_mb()
    parse = parse_html if kind == "html" else parse_pdf
    times = []
    parsed = None
    for _ in range(RUNS):
        start = time.perf_counter()
        parsed = parse(body, page_url=f"https://arxiv.org/{kind}/2601.00001v1", paper_id="2601.00001", version=1)
        times.append(time.perf_counter() - start)
    assert parsed is not None
    return {
        "input_bytes": len(body),
        "first_parse_s": round(times[0], 3),
        "best_parse_s": round(min(times), 3),
        "peak_rss_mb": round(_rss_mb(), 1),
        "rss_before_parse_mb": round(before, 1),
        "sections": len(parsed.sections),
        "paragraphs": parsed.paragraph_count,
        "figures": len(parsed.figures),
        "tables": len(parsed.tables),
        "text_chars": parsed.text_chars,
        "stored_bytes": len(pack(parsed)),
        "truncated": parsed.truncated,
    }


def measure(kind: str, body: bytes) -> dict[str, float | int | bool]:
    with tempfile.NamedTemporaryFile(suffix=f".{kind}") as handle:
        handle.write(body)
        handle.flush()
        out = subprocess.run(
            [sys.executable, "-m", "bench.fulltext", "--child", kind, handle.name],
            check=True,
            capture_output=True,
            text=True,
        )
    return json.loads(out.stdout)


async def timed_build(settings: Settings, store: SqliteStore, full_text: bool) -> dict[str, float | int]:
    from digest import pipeline

    start = time.perf_counter()
    result = await pipeline.build(settings, store, DAY, source="sample", full_text=full_text)
    return {
        "total_s": round(time.perf_counter() - start, 3),
        "papers_with_figures": sum(bool(i.figures) for i in result.digest.items),
        "papers_with_full_text": sum(i.fulltext_version is not None for i in result.digest.items),
    }


async def builds() -> dict[str, object]:
    from digest.settings import Settings
    from digest.store.sqlite import SqliteStore
    from tests.fakes.arxiv_web import FakeArxivWeb
    from tests.fakes.base import ServerThread

    fake = FakeArxivWeb()
    with ServerThread(fake.app) as server, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            DIGEST_DATA_DIR=Path(tmp),  # type: ignore[call-arg]
            DIGEST_ARXIV_WEB_BASE_URL=server.url,
        )
        store = SqliteStore(Path(tmp) / "store.sqlite3")
        try:
            without = await timed_build(settings, store, full_text=False)
            with_full_text = await timed_build(settings, store, full_text=True)
            requests = len(fake.calls)
            rebuild = await timed_build(settings, store, full_text=True)
            rebuild_requests = len(fake.calls) - requests
        finally:
            await store.close()
    interval = settings.arxiv_web_min_interval_s
    polite_floor = (requests - 1) * interval
    extra = with_full_text["total_s"] - without["total_s"]  # type: ignore[operator]
    return {
        "papers": 5,
        "min_interval_s": interval,
        "without_full_text": without,
        "with_full_text": {**with_full_text, "requests": requests},
        "rebuild_with_full_text": {**rebuild, "requests": rebuild_requests},
        "extra_s": round(extra, 3),
        "polite_delay_s": polite_floor,
        "extra_beyond_polite_delay_s": round(extra - polite_floor, 3),
    }


def main() -> dict[str, object]:
    from tests.fakes.arxiv_web import latexml_page, long_pdf

    html = latexml_page("2601.00001", 1, "A sixty-page paper", pages=60).encode()
    pdf = long_pdf("A forty-page paper", pages=40)
    bomb = (
        b'<article class="ltx_document"><section class="ltx_section" id="S1"><h2 class="ltx_title">A</h2>'
        b'<div class="ltx_para"><p class="ltx_p">' + b"<b>x</b>" * (HOSTILE_BYTES // 8)
    )
    html_result = measure("html", html)
    pdf_result = measure("pdf", pdf)
    bomb_result = measure("html", bomb)
    build = asyncio.run(builds())
    return {
        "html_60_pages": html_result,
        "pdf_40_pages": {**pdf_result, "pages": 40},
        "hostile_html_10mb_of_tags": bomb_result,
        "build_5_papers": build,
        "targets": {
            "html_parse_under_1s": html_result["first_parse_s"] < 1.0,
            "pdf_parse_under_3s": pdf_result["first_parse_s"] < 3.0,
            "html_peak_under_150mb": html_result["peak_rss_mb"] < 150,
            "pdf_peak_under_150mb": pdf_result["peak_rss_mb"] < 150,
            "hostile_page_peak_under_300mb": bomb_result["peak_rss_mb"] < 300,
            "extra_build_time_is_the_polite_delay_within_1s": build["extra_beyond_polite_delay_s"] < 1.0,  # type: ignore[operator]
            "rebuild_asks_arxiv_nothing": build["rebuild_with_full_text"]["requests"] == 0,  # type: ignore[index]
        },
    }


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], sys.argv[3])))
    else:
        print(json.dumps(main(), indent=2))

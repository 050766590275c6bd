"""Build speed with the LLM: a five-paper build against the fake OpenAI server adding 2 s per call, then a rebuild.

Run from the repository root: `.venv/bin/python -m bench.build`. Prints one JSON object; not pass/fail in CI.
Targets: the whole build (fetch, five briefs, the digest-level call, store) takes at most 1.15 x one call's
latency, because the digest-level call runs beside the briefs instead of after them; a rebuild of the same day
makes 0 LLM calls and takes under 0.3 s; a prompt stays under 6,000 characters plus the abstract. A build that
also reads the papers' full text (against the fake arXiv web server) reads it beside the LLM calls: it takes
the longer of the two, which at arXiv's one request per second is the full text's.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from datetime import date
from pathlib import Path

from digest import pipeline
from digest.settings import Settings
from digest.store.sqlite import SqliteStore
from digest.summarize.llm import BriefOut, BriefSummarizer, load_prompt, make_client, strict_schema
from tests.fakes.arxiv_web import FakeArxivWeb
from tests.fakes.base import ServerThread
from tests.fakes.openai import FakeOpenAI
from tests.fakes.papers import FakeHuggingFace

DAY = date(2026, 2, 13)
LATENCY_S = 2.0


async def timed_build(settings: Settings, store: SqliteStore, *, full_text: bool = False) -> dict[str, float | int]:
    marks: dict[str, float] = {}
    start = time.perf_counter()

    def progress(message: str) -> None:
        now = time.perf_counter() - start
        if message.startswith("huggingface:") and "papers" in message:
            marks["fetched"] = now
        elif message.startswith("LLM:"):  # the briefs and the digest-level parts are all in
            marks["summarized"] = now

    client = make_client(settings)
    try:
        result = await pipeline.build(
            settings,
            store,
            DAY,
            source="huggingface",
            summarizer=BriefSummarizer(settings, store, client),
            progress=progress,
            full_text=full_text,
        )
    finally:
        if client is not None:
            await client.close()
    total = time.perf_counter() - start
    return {
        "total_s": round(total, 3),
        "fetch_s": round(marks["fetched"], 3),
        # Five briefs and the parts, concurrently (and the full text, when read, beside them).
        "summarize_s": round(marks["summarized"] - marks["fetched"], 3),
        "store_and_render_s": round(total - marks["summarized"], 3),
        "llm_calls": result.digest.usage.llm_calls,
        "parts_by_llm": result.digest.parts_source.origin == "llm",
        "cached_briefs": result.digest.usage.cached_briefs,
        "llm_briefs": sum(i.brief.origin == "llm" for i in result.digest.items),
    }


async def one_call(settings: Settings) -> float:
    """One brief call as the build makes it (the first sample paper's prompt and schema), timed alone."""
    from digest.sources import sample

    paper = sample.fetch(DAY)[1][0]
    prompt = load_prompt(settings.prompts_dir, "brief", settings.lang)
    client = make_client(settings)
    assert client is not None
    start = time.perf_counter()
    try:
        await client.chat.completions.create(
            model=settings.model,
            messages=prompt.messages(paper_id=paper.id, title=paper.title, abstract=paper.abstract),  # type: ignore[arg-type]
            response_format={
                "type": "json_schema",
                "json_schema": {"name": "paper_brief", "strict": True, "schema": strict_schema(BriefOut)},
            },
        )
    finally:
        await client.close()
    return time.perf_counter() - start


def prompt_sizes(settings: Settings) -> dict[str, int]:
    """The largest brief prompt without its abstract, per language; `+json_mode` adds the schema to the prompt."""
    from digest.sources import sample

    out = {}
    for lang in ("ko", "en"):
        prompt = load_prompt(settings.prompts_dir, "brief", lang)
        out[lang] = max(
            sum(len(m["content"]) for m in prompt.messages(paper_id=p.id, title=p.title, abstract=""))
            for day in sample.available_days()
            for p in sample.fetch(day)[1]
        )
        schema = json.dumps(strict_schema(BriefOut), ensure_ascii=False, separators=(",", ":"))
        out[f"{lang}+json_mode"] = out[lang] + len("\n\nJSON schema of the answer:\n") + len(schema)
    return out


async def main() -> dict[str, object]:
    fake_llm = FakeOpenAI(latency_s=LATENCY_S)
    fake_hf = FakeHuggingFace()
    fake_web = FakeArxivWeb()
    with (
        ServerThread(fake_llm.app) as llm_server,
        ServerThread(fake_hf.app) as hf_server,
        ServerThread(fake_web.app) as web_server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        fake_llm.url = llm_server.url  # type: ignore[attr-defined]
        settings = Settings(
            OPENAI_API_KEY="sk-bench-0123456789abcdefghij",
            OPENAI_BASE_URL=fake_llm.base_url,
            DIGEST_MODEL="bench-model",  # not the golden model, so the first build really calls the LLM
            DIGEST_HF_BASE_URL=hf_server.url,
            DIGEST_ARXIV_WEB_BASE_URL=web_server.url,
            DIGEST_DATA_DIR=Path(tmp),
            prices={"bench-model": {"input": 0.15, "output": 0.60}},
        )
        store = SqliteStore(Path(tmp) / "store.sqlite3")
        other = SqliteStore(Path(tmp) / "other.sqlite3")
        try:
            call_s = await one_call(settings)
            first = await timed_build(settings, store)
            again = await timed_build(settings, store)
            # The same build reading the papers' full text too (arXiv's pacing: one request per second).
            with_text = await timed_build(settings, other, full_text=True)
        finally:
            await store.close()
            await other.close()
    sizes = prompt_sizes(settings)
    return {
        "fake_latency_per_call_s": LATENCY_S,
        "one_call_s": round(call_s, 3),
        "build": first,
        "rebuild": again,
        "build_over_one_call": round(first["total_s"] / call_s, 3),
        "build_with_full_text": {**with_text, "full_text_requests": len(fake_web.calls)},
        "build_with_full_text_over_one_call": round(with_text["total_s"] / call_s, 3),
        "targets": {
            "build_within_1.15x_one_call": first["total_s"] <= 1.15 * call_s,
            "rebuild_0_llm_calls": again["llm_calls"] == 0,
            "rebuild_under_0.3s": again["total_s"] < 0.3,
            "prompt_under_6000_chars_plus_abstract": max(sizes.values()) < 6000,
        },
        "prompt_chars_without_abstract": sizes,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main()), indent=2))

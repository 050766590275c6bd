"""`digestbot build` and `digestbot demo`: build a day's digest, store it, print the report."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import sys
import time
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from bot import metrics
from bot.cli.common import echo_err, fail, lang_or_exit, parse_day, progress, run, settings_or_exit
from bot.wiring import make_summarizer
from digest import pipeline
from digest.settings import Settings
from digest.sources import registry, sample
from digest.store import Store, StoreUnavailable, open_store


async def flush_pending(settings: Settings, store: Store) -> None:
    """Digests archived while the store was down go in now that it answers (see pipeline.flush_pending)."""
    for day, lang in await pipeline.flush_pending(settings, store):
        progress(f"stored the {day} ({lang}) digest that was archived while the store was unavailable")


async def flush_on_start(settings: Settings) -> None:
    """serve's own store lives on uvicorn's event loop, so the start-up flush uses a short-lived one."""
    store = open_store(settings)
    try:
        with contextlib.suppress(StoreUnavailable):
            await flush_pending(settings, store)
    finally:
        await store.close()


async def build_day(
    settings: Settings, day: date, source: pipeline.SourceChoice, lang: str | None, use_llm: bool
) -> pipeline.BuildResult:
    store = open_store(settings)
    # The LLM only with a key and without --no-llm; either way cached briefs (and the golden ones) are served.
    summarizer, client = make_summarizer(settings, store, use_llm=use_llm)
    if use_llm and client is None:
        progress("no OPENAI_API_KEY: cached briefs, and offline briefs for the rest")
    try:
        await flush_pending(settings, store)
        started = time.monotonic()
        try:
            result = await pipeline.build(
                settings,
                store,
                day,
                source=source,
                lang=lang,
                summarizer=summarizer,
                progress=progress,  # type: ignore[arg-type]
            )
        except pipeline.BuildFailed:
            metrics.BUILDS.labels("failed").inc()
            raise
        usage = result.digest.usage  # counted in /metrics when PROMETHEUS_MULTIPROC_DIR is shared with serve
        metrics.build_done(usage.input_tokens, usage.output_tokens, time.monotonic() - started)
        return result
    finally:
        if client is not None:
            await client.close()
        await store.close()


def report(result: pipeline.BuildResult, as_json: bool) -> None:
    if as_json:
        typer.echo(result.digest.model_dump_json(indent=2))
    else:
        typer.echo(result.markdown, nl=False)
    if result.stored:
        progress(f"stored the {result.digest.date} ({result.digest.lang}) digest")
    else:
        echo_err(
            f"digestbot: the digest was archived in {result.archive_paths[1]} but not stored "
            f"({result.store_error}); it will be stored by the next build, ask, shell or serve once the "
            "store is back. Follow-up commands cannot answer for this day until then."
        )


def build(
    date_: Annotated[
        str | None, typer.Option("--date", help="YYYY-MM-DD, today, yesterday (default: yesterday)")
    ] = None,
    source: Annotated[str, typer.Option(help=", ".join(registry.CHOICES))] = "auto",
    lang: Annotated[str | None, typer.Option(help="ko or en (default: DIGEST_LANG)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the digest JSON instead of Markdown")] = False,
    no_llm: Annotated[bool, typer.Option("--no-llm", help="offline briefs only, no LLM call")] = False,
) -> None:
    """Build the digest for a day, store it and print the report."""
    try:
        registry.check_name(source)
    except registry.UnknownSource as exc:
        raise fail(f"--source {exc}", 2) from None
    settings = settings_or_exit()
    chosen = lang_or_exit(lang, settings) if lang is not None else None
    day = past_day(date_, settings)
    try:
        result = run(build_day(settings, day, source, chosen, not no_llm))
    except pipeline.BuildFailed as exc:
        raise fail(str(exc)) from None
    report(result, as_json)
    if result.llm_error:
        # The digest is stored (the morning post goes out with the abstracts); the job still failed.
        raise fail(
            f"{result.llm_error}: the digest was stored with each paper's abstract instead of a brief. "
            "Fix OPENAI_API_KEY and run the build again to replace them."
        )


def past_day(value: str | None, settings: Settings) -> date:
    """The day to build: a future day has no papers yet (and must not become the "latest" digest)."""
    day = parse_day(value, settings)
    today = datetime.now(settings.tz).date()
    if day > today:
        raise fail(
            f"--date {day} is in the future (today is {today} in {settings.timezone}); build a day that has passed, "
            "e.g. --date yesterday",
            2,
        )
    return day


# The environment that says where the store is: the demo's follow-up hint repeats what is set, so it works as
# printed even when the demo was run with them set for that one command.
STORE_LOCATION_ENV = ("DIGEST_CONFIG", "DIGEST_DATA_DIR", "REDIS_URL", "DIGEST_KEY_PREFIX")


def self_command() -> str:
    """How to run this digestbot again from any folder: its name when PATH finds this one, else its full path."""
    argv0 = Path(sys.argv[0])
    script = argv0 if argv0.name == "digestbot" else Path(sys.executable).parent / "digestbot"
    if not script.is_file():  # python -m bot.cli from a source tree without the console script
        return shlex.join([sys.executable, "-m", "bot.cli"])
    on_path = shutil.which("digestbot")
    if on_path and os.path.samefile(on_path, script):
        return "digestbot"
    return shlex.quote(os.path.abspath(script))


def follow_up_hint(settings: Settings, day: date) -> tuple[str, bool]:
    """The `ask` command for the demo day as one line to paste, and whether it hides a password (a Redis URL's)."""
    assignments = []
    hidden = False
    for name in STORE_LOCATION_ENV:
        value = os.environ.get(name)
        if not value:
            continue
        if name == "DIGEST_DATA_DIR":
            value = str(settings.data_dir)
        elif name == "DIGEST_CONFIG":
            value = os.path.abspath(value)
        elif name == "REDIS_URL":
            from digest.store.redis import safe_url  # the redis client only when Redis is configured

            hidden = safe_url(value) != value
            value = safe_url(value)
        assignments.append(f"{name}={shlex.quote(value)}")
    words = [self_command(), "ask", '"/paper 3 risks"', "--date", day.isoformat()]
    if settings.lang != "ko":
        words += ["--lang", settings.lang]
    return " ".join([*assignments, *words]), hidden


async def describe_store(settings: Settings) -> str:
    store = open_store(settings)
    try:
        return store.describe()
    finally:
        await store.close()


def demo() -> None:
    """Build the 2026-02-13 sample day offline (no keys, no network) into the configured store and show how to ask
    a follow-up."""
    settings = settings_or_exit()
    progress(f"demo: the {sample.DEMO_DAY} sample day, into {run(describe_store(settings))}")
    try:
        result = run(build_day(settings, sample.DEMO_DAY, sample.NAME, None, False))
    except pipeline.BuildFailed as exc:
        raise fail(str(exc)) from None
    report(result, as_json=False)
    hint, hidden = follow_up_hint(settings, sample.DEMO_DAY)
    echo_err(
        "\nAsk a follow-up, answered from the store with no LLM call:\n"
        f"  {hint}\n"
        + ("(with your REDIS_URL where *** hides its password)\n" if hidden else "")
        + f"The report is archived in {result.archive_paths[0]}"
    )

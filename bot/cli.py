"""`digestbot`: stdout is the product, logs and progress go to stderr. Exit 0 done, 1 job failed, 2 bad usage."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from datetime import date, datetime, timedelta
from typing import Annotated, Any, TypeVar

import typer

from digest import pipeline, select
from digest.logs import configure_logging
from digest.settings import ConfigError, Settings, load_settings
from digest.sources import sample
from digest.store import open_store
from digest.summarize.llm import BriefSummarizer, make_client

T = TypeVar("T")

app = typer.Typer(
    name="digestbot",
    help="Daily top-5 AI papers with Korean briefs, for Slack and Telegram.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"digestbot: {message}", err=True)
    return typer.Exit(code)


def settings_or_exit(**overrides: Any) -> Settings:
    try:
        settings = load_settings(**overrides)
    except ConfigError as exc:
        raise fail(str(exc), 2) from None
    configure_logging(settings.secret_values())
    return settings


def parse_day(value: str | None, settings: Settings) -> date:
    """YYYY-MM-DD, 'today', 'yesterday'; nothing means the default build day (yesterday, lag applied)."""
    now = datetime.now(settings.tz)
    if value is None:
        return select.default_day(now, settings.tz, settings.lag_hours)
    word = value.strip().lower()
    if word == "today":
        return now.date()
    if word == "yesterday":
        return now.date() - timedelta(days=1)
    try:
        return date.fromisoformat(word)
    except ValueError:
        raise fail(
            f"--date {value!r} is not a date; use YYYY-MM-DD (e.g. 2026-02-13), 'today' or 'yesterday'", 2
        ) from None


def progress(message: str) -> None:
    typer.echo(f"· {message}", err=True)


def run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except KeyboardInterrupt:
        raise fail("interrupted", 130) from None


async def _build(
    settings: Settings, day: date, source: pipeline.SourceChoice, lang: str | None, use_llm: bool
) -> pipeline.BuildResult:
    store = open_store(settings)
    # The LLM only with a key and without --no-llm; either way cached briefs (and the golden ones) are served.
    client = make_client(settings) if use_llm else None
    if use_llm and client is None:
        progress("no OPENAI_API_KEY: cached briefs, and offline briefs for the rest")
    try:
        summarizer = BriefSummarizer(settings, store, client)
        return await pipeline.build(
            settings,
            store,
            day,
            source=source,
            lang=lang,
            summarizer=summarizer,
            progress=progress,  # type: ignore[arg-type]
        )
    finally:
        if client is not None:
            await client.close()
        await store.close()


def _report(result: pipeline.BuildResult, as_json: bool) -> None:
    if as_json:
        typer.echo(result.digest.model_dump_json(indent=2))
    else:
        typer.echo(result.markdown, nl=False)
    if not result.stored:
        typer.echo(
            f"digestbot: the digest was archived in {result.archive_paths[1]} but not stored "
            f"({result.store_error}); it will be stored by the next build once the store is back.",
            err=True,
        )


@app.command()
def build(
    date_: Annotated[
        str | None, typer.Option("--date", help="YYYY-MM-DD, today, yesterday (default: yesterday)")
    ] = None,
    source: Annotated[str, typer.Option(help="auto, huggingface, arxiv or sample")] = "auto",
    lang: Annotated[str | None, typer.Option(help="ko or en (default: DIGEST_LANG)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the digest JSON instead of Markdown")] = False,
    no_llm: Annotated[bool, typer.Option("--no-llm", help="offline briefs only, no LLM call")] = False,
) -> None:
    """Build the digest for a day, store it and print the report."""
    if source not in ("auto", "huggingface", "arxiv", "sample"):
        raise fail(f"--source {source!r} is not a source; use auto, huggingface, arxiv or sample", 2)
    if lang not in (None, "ko", "en"):
        raise fail(f"--lang {lang!r} is not supported; use ko or en", 2)
    settings = settings_or_exit()
    day = parse_day(date_, settings)
    try:
        result = run(_build(settings, day, source, lang, not no_llm))  # type: ignore[arg-type]
    except pipeline.BuildFailed as exc:
        raise fail(str(exc)) from None
    _report(result, as_json)


@app.command()
def demo() -> None:
    """Build the 2026-02-13 sample day offline (no keys, no network) and show how to ask a follow-up."""
    settings = settings_or_exit(redis_url=None)
    progress(f"demo: the {sample.DEMO_DAY} sample day, embedded store in {settings.data_dir}")
    try:
        result = run(_build(settings, sample.DEMO_DAY, "sample", None, False))
    except pipeline.BuildFailed as exc:
        raise fail(str(exc)) from None
    _report(result, as_json=False)
    typer.echo(
        "\nAsk a follow-up, answered from the store with no LLM call:\n"
        f'  digestbot ask "/paper 3 risks" --date {sample.DEMO_DAY}\n'
        f"The report is archived in {result.archive_paths[0]}",
        err=True,
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="port (default: PORT, else 8000)")] = None,
) -> None:
    """Serve HTTP: /healthz, Slack events, the Telegram webhook and the archive pages."""
    import os

    import uvicorn

    from bot.web import create_app

    settings = settings_or_exit()
    listen_port = port or int(os.environ.get("PORT") or 8000)
    store = open_store(settings)
    uvicorn.run(create_app(settings, store), host=host, port=listen_port, log_config=None, access_log=False)


def main() -> None:
    try:
        app()
    except ConfigError as exc:  # a setting read lazily after start-up
        typer.echo(f"digestbot: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()

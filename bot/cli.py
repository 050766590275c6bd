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
from digest.store import StoreUnavailable, open_store
from digest.summarize import OfflineSummarizer, Summarizer

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


def _summarizer(settings: Settings) -> Summarizer:
    """The LLM summarizer plugs in here when a key is configured (issue 3); offline briefs until then."""
    del settings
    return OfflineSummarizer()


async def _build(
    settings: Settings, day: date, source: pipeline.SourceChoice, lang: str | None, use_llm: bool
) -> pipeline.BuildResult:
    store = open_store(settings)
    try:
        summarizer = _summarizer(settings) if use_llm else OfflineSummarizer()
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


def _now_utc() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)


def _delivery_day(value: str | None, settings: Settings) -> date:
    """`--date` of post/status: the digest day; by default the one the chats get this morning."""
    from bot import scheduler

    return parse_day(value, settings) if value else scheduler.edition_day(_now_utc(), settings)


@app.command()
def post(
    date_: Annotated[
        str | None, typer.Option("--date", help="digest day (default: the one posted this morning)")
    ] = None,
    platform: Annotated[str, typer.Option(help="slack, telegram or all")] = "all",
    dry_run: Annotated[bool, typer.Option("--dry-run", help="show who would get what; post nothing")] = False,
) -> None:
    """Post a stored digest now to every subscribed chat not yet served that day (the ledger skips the rest)."""
    if platform not in ("slack", "telegram", "all"):
        raise fail(f"--platform {platform!r} is not a platform; use slack, telegram or all", 2)
    settings = settings_or_exit()
    day = _delivery_day(date_, settings)
    code = run(_post(settings, day, None if platform == "all" else platform, dry_run))
    if code:
        raise typer.Exit(code)


async def _post(settings: Settings, day: date, platform: str | None, dry_run: bool) -> int:
    from bot import scheduler
    from bot.delivery import FanOut, skip_reason
    from bot.leader import process_id
    from bot.status import chat_status
    from bot.wiring import make_posters

    store = open_store(settings)
    try:
        subs = await store.list_subscriptions(platform)  # type: ignore[arg-type]
        now = _now_utc()
        slots = [scheduler.Slot(sub=sub, day=day, at=now) for sub in subs]
        digests = {lang: await store.get_digest(day, lang) for lang in {s.lang for s in subs} | {settings.lang}}
        if dry_run:
            rows = {(r.platform, r.chat_id): r for r in await store.list_deliveries(day)}
            typer.echo(f"post --date {day}: {len(subs)} subscribed chats" + (f" on {platform}" if platform else ""))
            for sub in subs:
                row = rows.get((sub.platform, sub.chat_id))
                digest = digests.get(sub.lang) or digests.get(settings.lang)
                if skip_reason(row, now, settings) is not None:
                    state, detail = chat_status(sub, row, day, now, settings)
                    what = f"skip ({state}: {detail})"
                elif digest is None:
                    what = f"nothing: no digest of {day} stored; run `digestbot build --date {day}`"
                else:
                    what = f"would post the {digest.lang} digest of {day} ({len(digest.items)} papers)"
                typer.echo(f"  {sub.platform:<8} {sub.chat_id:<24} {what}")
            return 0
        if not any(digests.values()):
            typer.echo(
                f"digestbot: no digest of {day} is stored; build it first: digestbot build --date {day}", err=True
            )
            return 1
        posters = make_posters(settings)
        missing = sorted({s.platform for s in subs} - set(posters))
        if missing:
            progress(f"no poster for {', '.join(missing)} (bot token unset): those chats are skipped")
        report = await FanOut(settings, store, posters, process_id()).run(slots)
        typer.echo(report.summary("post"))
        not_served = ("failed", "unreachable", "no-poster", "no-digest", "in-doubt")
        return 1 if any(report.results[k] for k in not_served) else 0
    finally:
        await store.close()


@app.command("run")
def run_bot() -> None:
    """Run the bot: the scheduler (builds and morning posts, one leader across processes), Slack Socket Mode and
    Telegram polling when their tokens are set. Stops cleanly on SIGTERM/SIGINT."""
    settings = settings_or_exit()
    run(_run_bot(settings))


async def _run_bot(settings: Settings) -> None:
    import contextlib
    import logging
    import signal

    from bot.wiring import listeners, make_posters
    from bot.worker import Worker

    log = logging.getLogger("bot.run")
    store = open_store(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    posters = make_posters(settings)
    if not posters:
        log.warning("no SLACK_BOT_TOKEN or TELEGRAM_BOT_TOKEN: digests are built but posted nowhere")
    summarizer = _summarizer(settings)

    async def builder(day: date, lang: Any) -> Any:
        result = await pipeline.build(
            settings, store, day, source=settings.build_source, lang=lang, summarizer=summarizer
        )
        return result.digest

    worker = Worker(settings, store, posters, builder=builder)
    tasks = [asyncio.create_task(worker.run(stop), name="scheduler")]
    for name, coro in listeners(settings, store, stop).items():
        tasks.append(asyncio.create_task(_keep_running(name, coro, stop), name=name))
    try:
        await tasks[0]
    finally:
        stop.set()
        for task in tasks[1:]:
            task.cancel()
        await asyncio.gather(*tasks[1:], return_exceptions=True)
        await store.close()


async def _keep_running(name: str, coro: Coroutine[Any, Any, None], stop: asyncio.Event) -> None:
    """A listener that dies is logged; the scheduler (the morning post) keeps going without it."""
    import logging

    try:
        await coro
    except asyncio.CancelledError:
        raise
    except Exception:
        logging.getLogger("bot.run").exception("%s stopped; the scheduler keeps running", name)


@app.command()
def status(
    date_: Annotated[
        str | None, typer.Option("--date", help="digest day (default: the one posted this morning)")
    ] = None,
) -> None:
    """For this morning's digest: built or not, which chats were served, which are pending, which failed and why."""
    from bot.status import day_status, render

    settings = settings_or_exit()
    day = _delivery_day(date_, settings)

    async def go() -> str:
        store = open_store(settings)
        try:
            return render(await day_status(store, settings, day), settings)
        finally:
            await store.close()

    try:
        typer.echo(run(go()), nl=False)
    except StoreUnavailable as exc:
        raise fail(f"the store is unavailable: {exc}") from None


def main() -> None:
    try:
        app()
    except ConfigError as exc:  # a setting read lazily after start-up
        typer.echo(f"digestbot: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()

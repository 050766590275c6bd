"""`digestbot`: stdout is the product, logs and progress go to stderr. Exit 0 done, 1 job failed, 2 bad usage."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Coroutine
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from bot import metrics
from bot.commands.engine import answer
from bot.commands.plain import reply_to_text
from bot.commands.reply import Reply
from digest import pipeline, select
from digest.logs import configure_logging
from digest.models import Lang
from digest.settings import ConfigError, Settings, load_settings
from digest.sources import registry, sample
from digest.store import Store, StoreUnavailable, open_store
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


def build_day(value: str | None, settings: Settings) -> date:
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


def progress(message: str) -> None:
    typer.echo(f"· {message}", err=True)


def run(coro: Coroutine[Any, Any, T]) -> T:
    try:
        return asyncio.run(coro)
    except KeyboardInterrupt:
        raise fail("interrupted", 130) from None


async def _flush_pending(settings: Settings, store: Store) -> None:
    """Digests archived while the store was down go in now that it answers (see pipeline.flush_pending)."""
    for day, lang in await pipeline.flush_pending(settings, store):
        progress(f"stored the {day} ({lang}) digest that was archived while the store was unavailable")


async def _flush_on_start(settings: Settings) -> None:
    """serve's own store lives on uvicorn's event loop, so the start-up flush uses a short-lived one."""
    store = open_store(settings)
    try:
        with contextlib.suppress(StoreUnavailable):
            await _flush_pending(settings, store)
    finally:
        await store.close()


async def _build(
    settings: Settings, day: date, source: pipeline.SourceChoice, lang: str | None, use_llm: bool
) -> pipeline.BuildResult:
    store = open_store(settings)
    # The LLM only with a key and without --no-llm; either way cached briefs (and the golden ones) are served.
    client = make_client(settings) if use_llm else None
    if use_llm and client is None:
        progress("no OPENAI_API_KEY: cached briefs, and offline briefs for the rest")
    try:
        await _flush_pending(settings, store)
        summarizer = BriefSummarizer(settings, store, client)
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


def _report(result: pipeline.BuildResult, as_json: bool) -> None:
    if as_json:
        typer.echo(result.digest.model_dump_json(indent=2))
    else:
        typer.echo(result.markdown, nl=False)
    if result.stored:
        progress(f"stored the {result.digest.date} ({result.digest.lang}) digest")
    else:
        typer.echo(
            f"digestbot: the digest was archived in {result.archive_paths[1]} but not stored "
            f"({result.store_error}); it will be stored by the next build, ask, shell or serve once the "
            "store is back. Follow-up commands cannot answer for this day until then.",
            err=True,
        )


@app.command()
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
    if lang not in (None, "ko", "en"):
        raise fail(f"--lang {lang!r} is not supported; use ko or en", 2)
    settings = settings_or_exit()
    day = build_day(date_, settings)
    try:
        result = run(_build(settings, day, source, lang, not no_llm))  # type: ignore[arg-type]
    except pipeline.BuildFailed as exc:
        raise fail(str(exc)) from None
    _report(result, as_json)
    if result.llm_error:
        # The digest is stored (the morning post goes out with the abstracts); the job still failed.
        raise fail(
            f"{result.llm_error}: the digest was stored with each paper's abstract instead of a brief. "
            "Fix OPENAI_API_KEY and run the build again to replace them."
        )


@app.command()
def demo() -> None:
    """Build the 2026-02-13 sample day offline (no keys, no network) and show how to ask a follow-up."""
    settings = settings_or_exit(redis_url=None)
    progress(f"demo: the {sample.DEMO_DAY} sample day, embedded store in {settings.data_dir}")
    try:
        result = run(_build(settings, sample.DEMO_DAY, sample.NAME, None, False))
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
    import gc
    import os

    import uvicorn

    from bot.web import create_app

    settings = settings_or_exit()
    listen_port = port or int(os.environ.get("PORT") or 8000)
    run(_flush_on_start(settings))
    store = open_store(settings)
    app_ = create_app(settings, store)
    # Everything imported so far lives as long as the server: keep it out of the collector's full passes,
    # which otherwise stall every in-flight request (Slack's 3 s ack) for as long as they take.
    gc.collect()
    gc.freeze()
    uvicorn.run(app_, host=host, port=listen_port, log_config=None, access_log=False)


def render_reply(reply: Reply, platform: str) -> str:
    """Exactly what each platform receives: plain text, Block Kit JSON, or Telegram HTML messages as JSON."""
    if platform == "slack":
        from bot.slack.blocks import reply_to_blocks

        return json.dumps(reply_to_blocks(reply), ensure_ascii=False, indent=2)
    if platform == "telegram":
        from bot.telegram.html import reply_to_messages

        return json.dumps(reply_to_messages(reply), ensure_ascii=False, indent=2)
    return reply_to_text(reply)


async def _ask(settings: Settings, text: str, lang: Lang, default_day: date | None) -> Reply:
    store = open_store(settings)
    try:
        with contextlib.suppress(StoreUnavailable):  # answer() below says so in the reply
            await _flush_pending(settings, store)
        today = datetime.now(settings.tz).date()
        return await answer(
            text, store, lang=lang, today=today, public_url=settings.public_url, default_day=default_day
        )
    finally:
        await store.close()


def _lang_or_exit(lang: str | None, settings: Settings) -> Lang:
    if lang not in (None, "ko", "en"):
        raise fail(f"--lang {lang!r} is not supported; use ko or en", 2)
    return lang or settings.lang  # type: ignore[return-value]


@app.command()
def ask(
    text: Annotated[str, typer.Argument(help='what a user typed, e.g. "/paper 3 risks"')],
    date_: Annotated[
        str | None, typer.Option("--date", help="the digest day when TEXT names none (default: the latest)")
    ] = None,
    platform: Annotated[str, typer.Option(help="plain, slack or telegram")] = "plain",
    lang: Annotated[str | None, typer.Option(help="ko or en (default: DIGEST_LANG)")] = None,
) -> None:
    """Answer a follow-up from the store and print it exactly as the platform would receive it."""
    if platform not in ("plain", "slack", "telegram"):
        raise fail(f"--platform {platform!r} is not a platform; use plain, slack or telegram", 2)
    settings = settings_or_exit()
    reply = run(_ask(settings, text, _lang_or_exit(lang, settings), parse_day(date_, settings) if date_ else None))
    typer.echo(render_reply(reply, platform))
    if reply.kind == "unavailable":
        # The reply above is what a chat would see; for a script this is a failed job.
        raise fail("the store is unreachable (see the log above); check REDIS_URL and that Redis is running")


@app.command()
def shell(
    lang: Annotated[str | None, typer.Option(help="ko or en (default: DIGEST_LANG)")] = None,
    platform: Annotated[str, typer.Option(help="plain, slack or telegram")] = "plain",
) -> None:
    """Type follow-up commands in a terminal (with history); the same answers as in Slack and Telegram."""
    if platform not in ("plain", "slack", "telegram"):
        raise fail(f"--platform {platform!r} is not a platform; use plain, slack or telegram", 2)
    settings = settings_or_exit()
    run(_shell(settings, _lang_or_exit(lang, settings), platform))


async def _shell(settings: Settings, lang: Lang, platform: str) -> None:
    try:
        import readline  # line editing and history where the platform has it
    except ImportError:  # pragma: no cover - Windows
        readline = None  # type: ignore[assignment]
    history = settings.data_dir / ".shell_history"
    if readline is not None:
        with contextlib.suppress(OSError):
            readline.read_history_file(history)
    store = open_store(settings)
    typer.echo('Type a command such as "/paper 3 risks" or "/help"; Ctrl-D to leave.', err=True)
    try:
        with contextlib.suppress(StoreUnavailable):
            await _flush_pending(settings, store)
        while True:
            try:
                text = await asyncio.to_thread(input, "digestbot> ")
            except EOFError:
                typer.echo("", err=True)
                break
            if not text.strip():
                continue
            today = datetime.now(settings.tz).date()
            reply = await answer(text, store, lang=lang, today=today, public_url=settings.public_url)
            typer.echo(render_reply(reply, platform) + "\n")
    finally:
        await store.close()
        if readline is not None:
            with contextlib.suppress(OSError):
                history.parent.mkdir(parents=True, exist_ok=True)
                readline.write_history_file(history)


store_app = typer.Typer(help="The store: move an embedded store into Redis.", no_args_is_help=True)
app.add_typer(store_app, name="store")


@store_app.command("migrate")
def store_migrate(
    from_: Annotated[str, typer.Option("--from", help="sqlite (the embedded store under DIGEST_DATA_DIR)")] = "sqlite",
    to: Annotated[str, typer.Option("--to", help="redis (REDIS_URL)")] = "redis",
) -> None:
    """Copy digests, briefs, subscriptions and the delivery ledger from the embedded store into Redis."""
    if (from_, to) != ("sqlite", "redis"):
        raise fail("only --from sqlite --to redis is supported", 2)
    settings = settings_or_exit()
    if not settings.redis_url:
        raise fail("REDIS_URL is not set: say which Redis to copy into, e.g. REDIS_URL=redis://localhost:6379/0", 2)
    source_path = settings.data_dir / "store.sqlite3"
    if not source_path.is_file():
        raise fail(f"there is no embedded store at {source_path}; set DIGEST_DATA_DIR to the folder that has it", 2)
    try:
        counts = run(_migrate(settings, source_path))
    except StoreUnavailable as exc:
        raise fail(
            f"{exc}. Nothing was removed from {source_path}; run the migration again once Redis answers."
        ) from None
    typer.echo(json.dumps(counts))
    progress(f"copied into Redis; {source_path} is left as it was (remove it once you trust the copy)")


async def _migrate(settings: Settings, source_path: Path) -> dict[str, int]:
    from digest.store.migrate import sqlite_to_redis
    from digest.store.redis import RedisStore
    from digest.store.sqlite import SqliteStore

    source = SqliteStore(source_path, prefix=settings.key_prefix)
    target = RedisStore(settings.redis_url or "", prefix=settings.key_prefix)
    try:
        return await sqlite_to_redis(source, target)
    finally:
        await source.close()
        await target.close()


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


@app.command("telegram-webhook")
def telegram_webhook(
    url: Annotated[str, typer.Argument(help="the public https URL of digestbot serve's /telegram/webhook")],
) -> None:
    """Point Telegram at `digestbot serve` (webhook mode) with TELEGRAM_WEBHOOK_SECRET, and register the commands."""
    from telegram.error import TelegramError

    from bot.telegram.webhook import set_webhook

    settings = settings_or_exit()
    if settings.telegram_bot_token is None:
        raise fail("TELEGRAM_BOT_TOKEN is not set; create the bot with @BotFather first (README, Telegram)", 2)
    if not url.startswith("https://") or not url.rstrip("/").endswith("/telegram/webhook"):
        raise fail(f"{url!r} is not the webhook URL; use https://YOUR-HOST/telegram/webhook", 2)

    async def go() -> None:
        store = open_store(settings)
        try:
            await set_webhook(settings, store, url)
        finally:
            await store.close()

    try:
        run(go())
    except ValueError as exc:  # no secret configured
        raise fail(str(exc), 2) from None
    except TelegramError as exc:
        raise fail(f"Telegram refused the webhook: {exc}") from None
    typer.echo(f"Telegram now sends updates to {url} (with the secret header); commands registered in ko and en")


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
    client = make_client(settings)
    summarizer = BriefSummarizer(settings, store, client)

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
        if client is not None:
            await client.close()
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

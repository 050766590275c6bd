"""`digestbot run`'s listeners are restarted with backoff when they fail, and /healthz (another process) shows
each one's state from the store; Telegram polling answers each update_id once, as the webhook does."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx

from bot.listeners import Backoff, Supervisor, read_states
from bot.telegram.app import run_polling
from bot.web import create_app
from digest.settings import Settings
from digest.store.base import Store
from tests.fakes.base import Fault, ServerThread
from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.telegram_support import message_update, stored_day, telegram_settings

CHAT = 5151
QUICK = Backoff(first_s=0.01, cap_s=0.05)
WAIT_S = 30.0  # a bound on a hang, not a measurement


async def until(condition: Callable[[], Any], what: str) -> Any:
    for _ in range(int(WAIT_S / 0.02)):
        if result := condition():
            return result
        await asyncio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def published(store: Store, listener: str, state: str) -> dict[str, Any]:
    """The listener's entry in the store once it shows `state` (publishing follows a change, it does not block it)."""
    for _ in range(int(WAIT_S / 0.02)):
        entries = read_states(await store.heartbeats()).get(listener, [])
        if entries and entries[0]["state"] == state:
            return entries[0]
        await asyncio.sleep(0.02)
    raise AssertionError(f"{listener} never published {state}")


def test_the_backoff_doubles_up_to_its_cap_and_is_jittered_but_never_zero() -> None:
    backoff = Backoff(first_s=1.0, cap_s=60.0)
    assert [backoff.delay(n, draw=lambda: 1.0) for n in range(8)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert [backoff.delay(n, draw=lambda: 0.0) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay(10_000, draw=lambda: 0.5) == 45.0


async def test_a_failing_listener_is_restarted_and_its_states_are_published(store: Store) -> None:
    stop = asyncio.Event()
    attempts: list[int] = []
    may_connect = asyncio.Event()

    async def flaky(ready: Callable[[], None]) -> None:
        attempts.append(len(attempts))
        if len(attempts) <= 2:
            raise ConnectionError(f"network unreachable (attempt {len(attempts)})")
        await may_connect.wait()
        ready()
        await stop.wait()

    supervisor = Supervisor(store, {"flaky": flaky}, stop, backoff=QUICK, heartbeat_s=60, process="host:1")
    task = asyncio.create_task(supervisor.run())
    await until(lambda: len(attempts) == 3, "the third attempt")
    restarting = await published(store, "flaky", "restarting")
    assert restarting["restarts"] == 2 and restarting["process"] == "host:1"
    assert restarting["last_error"] == "ConnectionError: network unreachable (attempt 2)"
    may_connect.set()
    running = await published(store, "flaky", "running")
    assert running["last_error"] == restarting["last_error"]  # the last error stays visible
    stop.set()
    await task
    assert [entry["state"] for entry in read_states(await store.heartbeats())["flaky"]] == ["stopped"]


async def test_a_listener_that_returns_unasked_is_restarted_and_one_that_hangs_on_stop_is_cancelled(
    store: Store,
) -> None:
    stop = asyncio.Event()
    runs: list[str] = []

    async def returns_early(ready: Callable[[], None]) -> None:
        runs.append("early")
        ready()

    async def ignores_stop(ready: Callable[[], None]) -> None:
        ready()
        await asyncio.Event().wait()  # like a websocket client that only stops when cancelled

    listeners = {"early": returns_early, "deaf": ignores_stop}
    supervisor = Supervisor(store, listeners, stop, backoff=QUICK, stop_grace_s=0.1)
    task = asyncio.create_task(supervisor.run())
    await until(lambda: len(runs) >= 3, "restarts of the listener that returned")
    assert supervisor.states["early"].last_error == "returned while the bot was running"
    stop.set()
    await task
    assert {s.state for s in supervisor.states.values()} == {"stopped"}


async def test_polling_survives_a_network_error_at_start_up_and_healthz_shows_it(
    fake_telegram: FakeTelegram, make_settings: Callable[..., Settings]
) -> None:
    settings = telegram_settings(make_settings, fake_telegram)
    store, _ = await stored_day(settings)
    stop = asyncio.Event()
    fake_telegram.fail_next(Fault(status=502, body={"ok": False, "description": "Bad Gateway"}, path="getMe"))
    second_get_me = fake_telegram.hold("getMe")  # the retry waits here, so its "restarting" state can be read
    listener = {"telegram polling": lambda ready: run_polling(settings, store, stop, ready)}
    supervisor = Supervisor(store, listener, stop, backoff=QUICK, process="run-1")
    task = asyncio.create_task(supervisor.run())
    try:
        await until(lambda: supervisor.states["telegram polling"].restarts == 1, "the first restart")
        with ServerThread(create_app(settings, store)) as server:  # `digestbot serve`, reading the store
            health = await until(lambda: _health(server.url, "restarting"), "/healthz to show the restart")
            (entry,) = health["listeners"]["telegram polling"]
            assert health["status"] == "degraded" and entry["process"] == "run-1"
            assert "NetworkError" in entry["last_error"] and "Bad Gateway" in entry["last_error"]
            assert TOKEN.split(":")[1] not in json.dumps(health)
            second_get_me.set()
            fake_telegram.push_update(message_update(CHAT, "/help"))
            await until(lambda: fake_telegram.sent(CHAT), "the answer once polling runs")
            health = await until(lambda: _health(server.url, "running"), "/healthz to show it running")
            assert health["status"] == "ok"
    finally:
        second_get_me.set()
        stop.set()
        await task
        await store.close()


def _health(url: str, state: str) -> dict[str, Any] | None:
    body = httpx.get(url + "/healthz", timeout=10).json()
    entries = body.get("listeners", {}).get("telegram polling", [])
    return body if entries and entries[0]["state"] == state else None


async def test_polling_answers_an_update_id_once_even_when_fetched_twice(
    fake_telegram: FakeTelegram, make_settings: Callable[..., Settings]
) -> None:
    settings = telegram_settings(make_settings, fake_telegram)
    store, _ = await stored_day(settings)
    stop = asyncio.Event()
    update = message_update(CHAT, "/paper 1 risks")
    fake_telegram.push_update(update)
    fake_telegram.push_update(update)  # the same update_id again (a second poller, a replayed batch)
    fake_telegram.push_update(message_update(CHAT, "/help"))  # in order after both copies
    task = asyncio.create_task(run_polling(settings, store, stop))
    try:
        await until(lambda: len(fake_telegram.sent(CHAT)) >= 2 or task.done(), "the answer to /help")
    finally:
        stop.set()
        await task
        await store.close()
    sent = [m.text for m in fake_telegram.sent(CHAT)]
    assert len(sent) == 2 and sent[0].startswith("1. ") and "/paper" in sent[1]

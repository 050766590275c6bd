"""The listeners of `digestbot run` (Telegram polling, Slack Socket Mode, any adapter's), kept running.

A listener that fails (at start-up or later) is started again after a backoff that doubles up to a cap, with
jitter so that several processes do not retry in step. Its state (starting, running, restarting since … with
the last error, stopped) is published to the store as a heartbeat with a short time to live, because /healthz is
answered by `digestbot serve`, another process: a process that dies simply stops renewing its heartbeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from bot.leader import process_id
from bot.platform.seam import Listener
from digest.logs import redact
from digest.store import StoreUnavailable
from digest.store.base import HeartbeatStore

log = logging.getLogger(__name__)

HEARTBEAT_S = 10.0  # how often each state is renewed in the store; one silent for three of these is gone
STABLE_S = 60.0  # a listener that ran this long before failing starts its backoff again from the first step
STOP_GRACE_S = 25.0  # a stopping listener may finish its work (the queued updates) before it is cancelled
MAX_ERROR_CHARS = 300

State = Literal["starting", "running", "restarting", "stopped"]


@dataclass(frozen=True)
class Backoff:
    """The wait before restart number `attempt` (0-based): doubling from `first_s` up to `cap_s`, jittered
    between half and all of it, so it is never zero and processes spread out."""

    first_s: float = 1.0
    cap_s: float = 300.0

    def delay(self, attempt: int, draw: Callable[[], float] = random.random) -> float:
        ceiling = min(self.cap_s, self.first_s * 2.0 ** min(attempt, 60))
        return ceiling / 2 + draw() * ceiling / 2


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class ListenerState:
    listener: str
    process: str
    state: State = "starting"
    since: str = field(default_factory=_now)
    last_error: str | None = None
    restarts: int = 0

    def body(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


def describe(exc: BaseException | None) -> str:
    """One redacted line for a listener's failure (errors may quote a URL with the bot token in it)."""
    if exc is None:
        return "returned while the bot was running"
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return redact(" ".join(text.split()))[:MAX_ERROR_CHARS]


class Supervisor:
    """Runs each listener until `stop` is set, restarting it with backoff, and publishes each one's state."""

    def __init__(
        self,
        store: HeartbeatStore,
        listeners: Mapping[str, Listener],
        stop: asyncio.Event,
        *,
        backoff: Backoff = Backoff(),
        heartbeat_s: float = HEARTBEAT_S,
        stop_grace_s: float = STOP_GRACE_S,
        process: str | None = None,
    ) -> None:
        self.store = store
        self.listeners = dict(listeners)
        self.stop = stop
        self.backoff = backoff
        self.heartbeat_s = heartbeat_s
        self.stop_grace_s = stop_grace_s
        process = process or process_id()
        self.states = {name: ListenerState(name, process) for name in self.listeners}
        self._changed = asyncio.Event()
        self._store_down = False

    async def run(self) -> None:
        """Until `stop` is set and every listener has stopped; the last states stay visible for a heartbeat."""
        if not self.listeners:
            return
        keepers = [asyncio.create_task(self._keep(name), name=name) for name in self.listeners]
        publisher = asyncio.create_task(self._publish_forever(), name="listener heartbeats")
        try:
            await asyncio.gather(*keepers)
        finally:
            for task in (*keepers, publisher):
                task.cancel()
            await asyncio.gather(*keepers, publisher, return_exceptions=True)
            for state in self.states.values():
                self._set(state.listener, "stopped")
            await self._publish()

    def _set(self, name: str, state: State, error: str | None = None) -> None:
        current = self.states[name]
        if current.state != state:
            current.state, current.since = state, _now()
        if error is not None:
            current.last_error = error
        self._changed.set()

    async def _keep(self, name: str) -> None:
        listener, state = self.listeners[name], self.states[name]
        attempt = 0
        while not self.stop.is_set():
            ready_at: float | None = None

            def ready() -> None:
                nonlocal ready_at
                ready_at = time.monotonic()
                self._set(name, "running")
                log.info("%s: running", name)

            run = asyncio.create_task(listener(ready), name=f"{name} (run)")
            stopping = asyncio.create_task(self.stop.wait())
            try:
                await asyncio.wait({run, stopping}, return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:  # the supervisor itself is being cancelled: take the listener along
                run.cancel()
                await asyncio.gather(run, return_exceptions=True)
                raise
            finally:
                stopping.cancel()
            if not run.done():  # stop is set: let the listener finish by itself, then insist
                await self._finish(name, run)
                return
            failure = None if run.cancelled() else run.exception()
            if self.stop.is_set() and failure is None and not run.cancelled():
                return  # it returned because it was asked to
            error = "cancelled" if run.cancelled() else describe(failure)
            if ready_at is not None and time.monotonic() - ready_at >= STABLE_S:
                attempt = 0
            delay = self.backoff.delay(attempt)
            attempt += 1
            state.restarts += 1
            self._set(name, "restarting", error)
            log.warning("%s stopped (%s); restart %d in %.1f s", name, error, state.restarts, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), delay)

    async def _finish(self, name: str, run: asyncio.Task[None]) -> None:
        done, _ = await asyncio.wait({run}, timeout=self.stop_grace_s)
        if not done:
            run.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await run
        if not run.cancelled() and run.exception() is not None:
            log.warning("%s failed while stopping: %s", name, describe(run.exception()))

    async def _publish_forever(self) -> None:
        """Renew every state each heartbeat, and at once when one changes."""
        while True:
            self._changed.clear()
            await self._publish()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), self.heartbeat_s)

    async def _publish(self) -> None:
        for state in list(self.states.values()):
            try:
                await self.store.put_heartbeat(heartbeat_name(state), state.body(), 3 * self.heartbeat_s)
            except StoreUnavailable as exc:
                if not self._store_down:
                    log.warning("listener states cannot be published (the store is down): %s", exc)
                self._store_down = True
                return
        self._store_down = False


def heartbeat_name(state: ListenerState) -> str:
    return f"listener {state.listener} @ {state.process}"


def read_states(beats: Mapping[str, str]) -> dict[str, list[dict[str, Any]]]:
    """/healthz's view of the heartbeats: each listener's state in every process that runs it."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name, body in sorted(beats.items()):
        if not name.startswith("listener "):
            continue
        try:
            state = json.loads(body)
            out.setdefault(str(state["listener"]), []).append(
                {key: state.get(key) for key in ("process", "state", "since", "last_error", "restarts")}
            )
        except (ValueError, KeyError, TypeError):
            continue  # another version's body: skip it rather than fail the health check
    return out

"""Work done after the platform has its acknowledgement: in order within a chat, concurrently across chats, bounded.

A webhook answers 200 as soon as an update is queued here; a poller hands over what it fetched. Each key (a
chat) has at most one job running, so a chat's replies keep the order of its messages, while a slow chat (a
40-message reply, a slow API) holds up no other. The number of queued jobs is bounded: `submit` refuses when
full (the webhook then answers 503 and the platform sends the update again later), `put` waits for room
(a poller fetches no faster than it answers). Every job's failure is logged, never raised into the queue, and
`drain` lets the queued jobs finish on shutdown (within a time limit) instead of dropping them.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class QueueClosed(Exception):
    """The queue is draining for shutdown and takes no new work."""


class ChatQueue:
    def __init__(self, name: str, *, max_pending: int = 1000, max_running: int = 32) -> None:
        """`max_pending`: jobs queued or running at most; `max_running`: chats answered at the same time."""
        self.name = name
        self.max_pending = max_pending
        self._slots = asyncio.Semaphore(max_running)
        self._chats: dict[str, deque[Job]] = {}  # a key is here while its runner task lives
        self._runners: set[asyncio.Task[None]] = set()
        self._pending = 0
        self._room = asyncio.Condition()
        self._closed = False

    @property
    def pending(self) -> int:
        """Jobs queued or running."""
        return self._pending

    def submit(self, key: str, job: Job) -> bool:
        """Queue `job` after the jobs already queued for `key`; False when the queue is full."""
        if self._closed:
            raise QueueClosed(self.name)
        if self._pending >= self.max_pending:
            return False
        self._pending += 1
        jobs = self._chats.get(key)
        if jobs is not None:  # the chat's runner is alive and takes this one in turn
            jobs.append(job)
            return True
        self._chats[key] = deque([job])
        runner = asyncio.create_task(self._run(key), name=f"{self.name}:{key}")
        self._runners.add(runner)
        runner.add_done_callback(self._runners.discard)
        return True

    async def put(self, key: str, job: Job) -> None:
        """Queue `job`, waiting while the queue is full."""
        async with self._room:
            await self._room.wait_for(lambda: self._closed or self._pending < self.max_pending)
        if not self.submit(key, job):  # pragma: no cover - only a concurrent submit can take the room
            await self.put(key, job)

    async def _run(self, key: str) -> None:
        jobs = self._chats[key]
        try:
            while jobs:
                job = jobs[0]
                async with self._slots:
                    try:
                        await job()
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        log.exception("%s: a job for one chat failed; the queue goes on", self.name)
                jobs.popleft()
                await self._done(1)
        finally:
            del self._chats[key]
            if jobs:  # cancelled with work left (a drain that ran out of time)
                await self._done(len(jobs))

    async def _done(self, count: int) -> None:
        self._pending -= count
        async with self._room:
            self._room.notify_all()

    async def join(self) -> None:
        """Wait until every queued job has finished (tests, benches)."""
        while self._runners:
            await asyncio.gather(*list(self._runners), return_exceptions=True)

    async def drain(self, timeout_s: float) -> int:
        """Take no new work, let the queued jobs finish for up to `timeout_s`, cancel the rest.

        Returns how many jobs were dropped (0 when everything finished)."""
        self._closed = True
        async with self._room:
            self._room.notify_all()
        if self._runners:
            await asyncio.wait(list(self._runners), timeout=timeout_s)
        left = self._pending
        if left:
            log.warning("%s: shutting down with %d unanswered job(s) after %.0f s", self.name, left, timeout_s)
        for runner in list(self._runners):
            runner.cancel()
        if self._runners:
            await asyncio.gather(*list(self._runners), return_exceptions=True)
        return left

"""One leader across processes: a store lock with a random token, renewed while held, released by its owner.

Redis: SET NX PX to take it, a Lua compare-and-delete to release it; the embedded store does the same in one
SQLite transaction, which covers processes on one machine. The token is random per process start, so a
process that was paused past the lock's expiry can never renew or release the lock a successor holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket

from digest.store import Store, StoreUnavailable

log = logging.getLogger(__name__)

LEADER_LOCK = "leader"


def process_id() -> str:
    """host:pid:random — names this process in claims and locks (the random part survives pid reuse)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class Leader:
    """`await acquire()` is non-blocking; while held, a task renews it every ttl/3 and sets `lost` on failure."""

    def __init__(self, store: Store, ttl_s: float, *, name: str = LEADER_LOCK, token: str | None = None) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self.name = name
        self.token = token or f"{process_id()}:{secrets.token_hex(8)}"
        self.lost = asyncio.Event()
        self._renewer: asyncio.Task[None] | None = None

    @property
    def held(self) -> bool:
        return self._renewer is not None and not self.lost.is_set()

    async def acquire(self) -> bool:
        if self.held:
            return True
        try:
            got = await self.store.acquire_lock(self.name, self.token, self.ttl_s)
        except StoreUnavailable as exc:
            log.warning("leader lock: store unavailable: %s", exc)
            return False
        if got:
            self.lost = asyncio.Event()
            self._renewer = asyncio.create_task(self._renew(), name="leader-renew")
            log.info("leader: this process leads (lock %r)", self.name)
        return got

    async def _renew(self) -> None:
        loop = asyncio.get_running_loop()
        last_ok = loop.time()
        while True:
            await asyncio.sleep(self.ttl_s / 3)
            try:
                ok = await self.store.renew_lock(self.name, self.token, self.ttl_s)
            except StoreUnavailable as exc:
                # Unknown whether we still hold it: keep trying while the last renewal still covers us.
                log.warning("leader lock: renewal failed: %s", exc)
                ok = loop.time() - last_ok < self.ttl_s
            else:
                last_ok = loop.time() if ok else last_ok
            if not ok:
                log.warning("leader: lost the lock %r (expired or taken over)", self.name)
                self.lost.set()
                self._renewer = None
                return

    async def release(self) -> None:
        renewer, self._renewer = self._renewer, None
        if renewer is not None:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
        try:
            await self.store.release_lock(self.name, self.token)
        except StoreUnavailable as exc:
            log.warning("leader lock: release failed (it expires by itself): %s", exc)

"""ChatQueue: in order within a chat, chats concurrently, bounded, failures contained, drained on shutdown."""

from __future__ import annotations

import asyncio

import pytest

from bot.chatqueue import ChatQueue, QueueClosed


def job(log: list[str], name: str, gate: asyncio.Event | None = None, fail: bool = False):  # type: ignore[no-untyped-def]
    async def run() -> None:
        if gate is not None:
            await gate.wait()
        if fail:
            raise RuntimeError(f"{name} broke")
        log.append(name)

    return run


async def test_one_chat_in_order_while_another_chat_goes_ahead() -> None:
    queue = ChatQueue("t")
    log: list[str] = []
    gate = asyncio.Event()
    assert queue.submit("a", job(log, "a1", gate))
    assert queue.submit("a", job(log, "a2"))
    assert queue.submit("b", job(log, "b1"))
    while log != ["b1"]:
        await asyncio.sleep(0)
    gate.set()
    await queue.join()
    assert log == ["b1", "a1", "a2"] and queue.pending == 0


async def test_a_failing_job_is_logged_and_the_chat_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    queue = ChatQueue("t")
    log: list[str] = []
    queue.submit("a", job(log, "a1", fail=True))
    queue.submit("a", job(log, "a2"))
    await queue.join()
    assert log == ["a2"] and "a job for one chat failed" in caplog.text and "a1 broke" in caplog.text


async def test_full_refuses_submit_and_put_waits_for_room() -> None:
    queue = ChatQueue("t", max_pending=2)
    log: list[str] = []
    gate = asyncio.Event()
    assert queue.submit("a", job(log, "a1", gate)) and queue.submit("b", job(log, "b1", gate))
    assert not queue.submit("c", job(log, "c1"))
    waiting = asyncio.create_task(queue.put("c", job(log, "c1")))
    await asyncio.sleep(0)
    assert not waiting.done()
    gate.set()
    await waiting
    await queue.join()
    assert sorted(log) == ["a1", "b1", "c1"]


async def test_at_most_max_running_chats_at_once() -> None:
    queue = ChatQueue("t", max_running=2)
    running = 0
    peak = 0
    gate = asyncio.Event()

    async def counted() -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await gate.wait()
        running -= 1

    for chat in range(5):
        queue.submit(str(chat), counted)
    for _ in range(10):
        await asyncio.sleep(0)
    assert peak == 2
    gate.set()
    await queue.join()


async def test_drain_finishes_queued_work_then_refuses_new_work() -> None:
    queue = ChatQueue("t")
    log: list[str] = []
    for n in range(3):
        queue.submit("a", job(log, f"a{n}"))
    assert await queue.drain(30) == 0
    assert log == ["a0", "a1", "a2"]
    with pytest.raises(QueueClosed):
        queue.submit("a", job(log, "late"))


async def test_drain_cancels_what_outlives_its_time_and_says_how_much() -> None:
    queue = ChatQueue("t")
    never = asyncio.Event()
    log: list[str] = []
    queue.submit("a", job(log, "stuck", never))
    queue.submit("a", job(log, "behind"))
    assert await queue.drain(0.01) == 2
    assert log == [] and queue.pending == 0

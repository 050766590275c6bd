"""Telegram webhook acknowledgements under a slow Bot API; prints JSON.

`digestbot serve` (the system under test) gets its updates over real HTTP, and the fake Telegram (this file with
--fake-telegram, in its own process) answers every Bot API call after --latency-s (default 1 s). Measured:
- the same update sent twice (Telegram's retry after a lost 200): each acknowledgement's time, and the
  sendMessage calls the fake recorded for that chat (one answer, not two);
- --updates updates to --chats chats, --in-flight at a time, a tenth of them sent twice: acknowledgement
  p50/p99/max, and whether every update_id got exactly one answer.

Run: .venv/bin/python bench/telegram_webhook.py [--latency-s 1.0] [--updates 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.telegram_support import SECRET, message_update

SENT = "/_bench/sent"
SECTIONS = ["risks", "actions", "dev", "points", "abstract", "links", "summary"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)


def serve_fake_telegram(port: int, latency_s: float) -> None:
    """The fake Bot API alone in this process, every call answered after `latency_s`, plus GET /_bench/sent."""
    import uvicorn
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    fake = FakeTelegram()
    fake.latency_s = latency_s

    async def sent(request: Request) -> JSONResponse:
        return JSONResponse([{"chat_id": m.chat_id, "text": m.text.split("\n", 1)[0][:80]} for m in fake.sent()])

    fake.app.router.routes.insert(0, Route(SENT, sent))
    uvicorn.run(fake.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", access_log=False)


def wait_until_up(url: str, what: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url)
            return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start")
        time.sleep(0.05)


def sent_by_chat(fake_url: str) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for message in httpx.get(fake_url + SENT, timeout=30).json():
        out.setdefault(message["chat_id"], []).append(message["text"])
    return out


def wait_for_answers(fake_url: str, expected: dict[int, int], timeout_s: float) -> dict[int, list[str]]:
    """The fake's messages by chat once every chat has its expected count (or the time is up)."""
    deadline = time.monotonic() + timeout_s
    while True:
        sent = sent_by_chat(fake_url)
        if all(len(sent.get(chat, [])) >= n for chat, n in expected.items()) or time.monotonic() > deadline:
            return sent
        time.sleep(0.2)


async def post_all(url: str, bodies: list[bytes], in_flight: int) -> list[float]:
    acks: list[float] = []
    pending = iter(bodies)
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
    connector = aiohttp.TCPConnector(limit=in_flight)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:

        async def worker() -> None:
            for body in pending:  # one shared iterator: each body is sent once
                start = time.monotonic()
                async with session.post(f"{url}/telegram/webhook", data=body, headers=headers) as response:
                    text = await response.text()
                acks.append(time.monotonic() - start)
                if response.status != 200:
                    raise RuntimeError(f"ack {response.status}: {text[:200]}")

        await asyncio.gather(*(worker() for _ in range(in_flight)))
    return acks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-s", type=float, default=1.0, help="the fake Bot API's delay on every call")
    parser.add_argument("--updates", type=int, default=300)
    parser.add_argument("--chats", type=int, default=30)
    parser.add_argument("--in-flight", type=int, default=20)
    parser.add_argument("--fake-telegram", type=int, metavar="PORT", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.fake_telegram:
        serve_fake_telegram(args.fake_telegram, args.latency_s)
        return
    digestbot = str(Path(sys.executable).with_name("digestbot"))
    fake_port = free_port()
    fake_url = f"http://127.0.0.1:{fake_port}"
    fake_server = subprocess.Popen(
        [sys.executable, __file__, "--fake-telegram", str(fake_port), "--latency-s", str(args.latency_s)]
    )
    result: dict[str, Any] = {"bench": "telegram_webhook", "bot_api_latency_s": args.latency_s}
    with tempfile.TemporaryDirectory() as tmp:
        env = os.environ | {
            "DIGEST_CONFIG": str(Path(__file__).resolve().parents[1] / "tests/data/empty-settings.toml"),
            "DIGEST_DATA_DIR": tmp,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": fake_url + "/bot",
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
        }
        env.pop("REDIS_URL", None)
        subprocess.run(
            [digestbot, "build", "--date", "2026-02-13", "--source", "sample"], env=env, check=True, capture_output=True
        )
        port = free_port()
        server = subprocess.Popen(
            [digestbot, "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(fake_url + SENT, "the fake Telegram")
            wait_until_up(f"{url}/healthz", "digestbot serve")
            # The same update twice, as Telegram sends it again when it did not get the first 200.
            twice = json.dumps(message_update(1, "/paper 3 risks")).encode()
            acks = asyncio.run(post_all(url, [twice, twice], 1))
            answered = wait_for_answers(fake_url, {1: 1}, 60)
            time.sleep(3 * args.latency_s + 1)  # room for a second answer, were one coming
            result["same_update_twice"] = {
                "ack_ms": [round(a * 1000, 2) for a in acks],
                "sendMessage_calls_to_the_chat": sent_by_chat(fake_url).get(1, []),
                "answered_once": len(sent_by_chat(fake_url).get(1, [])) == 1 and len(answered.get(1, [])) == 1,
            }
            # Many chats at once, a tenth of the updates delivered twice.
            updates = [
                message_update(100 + n % args.chats, f"/paper {n % 5 + 1} {SECTIONS[n % len(SECTIONS)]}")
                for n in range(args.updates)
            ]
            bodies = [json.dumps(u).encode() for u in updates]
            bodies += bodies[::10]
            began = time.monotonic()
            acks = asyncio.run(post_all(url, bodies, args.in_flight))
            acked_in = time.monotonic() - began
            per_chat = {100 + c: sum(1 for n in range(args.updates) if n % args.chats == c) for c in range(args.chats)}
            answered = wait_for_answers(fake_url, per_chat, 60 + args.updates * args.latency_s)
            result["load"] = {
                "updates": args.updates,
                "sent_twice": len(bodies) - args.updates,
                "chats": args.chats,
                "in_flight": args.in_flight,
                "ack_ms": {"p50": pct(acks, 0.50), "p99": pct(acks, 0.99), "max": round(max(acks) * 1000, 2)},
                "all_acknowledged_s": round(acked_in, 2),
                "all_answered_s": round(time.monotonic() - began, 2),
                "answers": sum(len(answered.get(chat, [])) for chat in per_chat),
                "one_answer_per_update": all(len(answered.get(chat, [])) == n for chat, n in per_chat.items()),
            }
        finally:
            server.terminate()
            server.wait(timeout=60)
            fake_server.terminate()
            fake_server.wait(timeout=10)
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""Post one digest to N subscribed chats through the fake Bot API, which enforces Telegram's flood limits
(30 messages/s overall, 1/s per chat, 429 + retry_after beyond them). Prints JSON.

    .venv/bin/python bench/telegram_fanout.py [--chats 300]

The target: total time within 15 % of (messages / 30 s), no duplicate and no missing message.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.platform import DeliveryError
from bot.telegram.app import build_application, poster_of
from bot.telegram.ratelimit import ChatRateLimiter
from digest import pipeline
from digest.settings import Settings
from digest.store import open_store
from tests.fakes.base import ServerThread
from tests.fakes.telegram import TOKEN, FakeTelegram

OVERALL_PER_S = 30


async def run(chats: int, data_dir: Path) -> dict[str, object]:
    fake = FakeTelegram()
    fake.overall_per_s, fake.per_chat_interval_s = OVERALL_PER_S, 1.0
    with ServerThread(fake.app) as server:
        settings = Settings(
            DIGEST_DATA_DIR=data_dir,
            DIGEST_HF_BASE_URL="http://127.0.0.1:9",
            sections={"telegram": {"bot_token": TOKEN, "api_base_url": server.url + "/bot"}},  # its settings table
        )
        store = open_store(settings)
        digest = (await pipeline.build(settings, store, date(2026, 2, 13), source="sample")).digest
        limiter = ChatRateLimiter()
        app = build_application(settings, store, polling=False, rate_limiter=limiter)
        chat_ids = [str(100_000 + n) for n in range(chats)]
        failures: list[str] = []
        async with app:
            poster = poster_of(app)

            async def one(chat_id: str) -> None:
                try:
                    await poster.post_digest(chat_id, digest)
                except DeliveryError as exc:
                    failures.append(f"{chat_id}: {exc}")

            fake.calls.clear()
            started = time.monotonic()
            await asyncio.gather(*(one(c) for c in chat_ids))
            elapsed = time.monotonic() - started
        await store.close()
    per_message = 1 + len(digest.items)
    expected = chats * per_message
    sent = fake.sent()
    duplicates = sum(n - 1 for n in Counter((m.chat_id, m.text) for m in sent).values() if n > 1)
    misses = sum(max(0, per_message - len(fake.sent(int(c)))) for c in chat_ids)
    bound = expected / OVERALL_PER_S
    return {
        "chats": chats,
        "messages_expected": expected,
        "messages_sent": len(sent),
        "seconds": round(elapsed, 2),
        "messages_per_s": round(len(sent) / elapsed, 2),
        "bound_seconds_at_30_per_s": round(bound, 2),
        "ratio_to_bound": round(elapsed / bound, 3),
        "within_15_percent": elapsed <= bound * 1.15,
        "http_429_received": fake.rejected_429,
        "retries": limiter.retries,
        "duplicates": duplicates,
        "misses": misses,
        "failed_posts": failures[:5],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(asyncio.run(run(args.chats, Path(tmp))), indent=2))


if __name__ == "__main__":
    main()

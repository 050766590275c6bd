"""Subscription topics: the filter (digest/topics.py), the morning fan-out that applies it per chat, the two
platforms' rendering of a filtered post, and Slack's `/digest-subscribe topics ...`."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, time

import pytest

from bot import scheduler
from bot.commands import subscribe
from bot.commands.context import Context
from bot.commands.engine import answer
from bot.delivery import FanOut
from bot.slack.blocks import digest_message, short_digest_text
from bot.telegram.html import header_blocks, paginate
from digest import pipeline
from digest.models import Digest
from digest.settings import Settings
from digest.store.base import Store, Subscription
from digest.topics import for_topics, item_matches, parse_topics

DAY = date(2026, 2, 13)
# The sample day: 1 agents/safety (tags Agent, LLM), 2 Composition-RL, 3 DeepGen (vision), 4 on-policy
# distillation (tag RL), 5 MOSS-Audio-Tokenizer.


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(telegram_posts_per_s=1000.0, slack_posts_per_s=1000.0, delivery_backoff_s=0.0)


async def sample(settings: Settings, store: Store, lang: str = "ko") -> Digest:
    return (await pipeline.build(settings, store, DAY, source="sample", lang=lang)).digest  # type: ignore[arg-type]


def test_topics_are_parsed_by_commas_else_spaces_and_off_clears_them() -> None:
    assert parse_topics("RL, audio") == ["rl", "audio"]
    assert parse_topics("rl audio rl") == ["rl", "audio"]
    assert parse_topics("Reinforcement  Learning, audio") == ["reinforcement learning", "audio"]
    assert parse_topics("off") == parse_topics(" 전체 ") == parse_topics("") == []


async def test_matching_papers_keep_their_rank_order_and_numbers(settings: Settings, store: Store) -> None:
    digest = await sample(settings, store)
    mine = for_topics(digest, ["RL", "audio"])
    assert [i.rank for i in mine.items] == [2, 4, 5]  # "/paper 4 risks" is the same paper as in the full digest
    assert [i.paper.id for i in mine.items] == [digest.item(r).paper.id for r in (2, 4, 5)]  # type: ignore[union-attr]
    assert {h.rank for h in mine.highlights} <= {2, 4, 5}
    assert mine.topic_filter is not None and mine.topic_filter.total == 5
    assert len(digest.items) == 5 and digest.topic_filter is None  # the shared digest is left as it was
    assert for_topics(digest, []) is digest
    # case-insensitive, whole words, optional plural, phrases across hyphens; tags, keywords and title
    assert [i.rank for i in for_topics(digest, ["agents"]).items] == [1]  # tag "Agent", "multi-agent systems"
    assert [i.rank for i in for_topics(digest, ["neural codec"]).items] == [5]  # an ai_keyword only
    assert [i.rank for i in for_topics(digest, ["DeepGen"]).items] == [3]  # the title only


async def test_a_short_topic_is_not_found_inside_other_words(settings: Settings, store: Store) -> None:
    item = (await sample(settings, store)).items[2]
    world = item.model_copy(
        update={
            "paper": item.paper.model_copy(update={"title": "A world model for early control", "ai_keywords": []}),
            "brief": item.brief.model_copy(update={"tags": ["Vision"]}),
        }
    )
    assert not item_matches(world, ["rl"])
    assert item_matches(world, ["world models"]) and item_matches(world, ["VISION"])


async def test_no_match_is_a_short_post_that_says_so_on_both_platforms(settings: Settings, store: Store) -> None:
    for lang, said in (("en", "None of today's 5 papers matched your topics (quantum)"), ("ko", "주제(quantum)에")):
        none = for_topics(await sample(settings, store, lang), ["quantum"])
        assert none.items == [] and none.daily_actions == [] and none.highlights == []
        telegram = "\n".join(p.text for p in paginate(header_blocks(none)))
        assert said in telegram and "/digest" in telegram and "/subscribe topics off" in telegram
        slack = json.dumps(digest_message(none), ensure_ascii=False)
        assert said in slack and "/digest-subscribe topics off" in slack
        assert "Top 0" not in telegram + slack + short_digest_text(none)


async def test_a_partial_match_says_how_many_of_the_five(settings: Settings, store: Store) -> None:
    mine = for_topics(await sample(settings, store, "en"), ["audio"])
    telegram = "\n".join(p.text for p in paginate(header_blocks(mine)))
    assert "1 of the top 5 AI papers of 2026-02-13 match your topics" in telegram and "Topics: audio" in telegram
    assert "MOSS-Audio-Tokenizer" in telegram and "Composition-RL" not in telegram  # nor in the actions
    assert (
        "1 of the top 5 AI papers of 2026-02-13 match your topics" in digest_message(mine)["blocks"][0]["text"]["text"]
    )
    assert "topic_filter" not in mine.model_dump_json()  # a chat's copy never leaks into stored JSON


class Recorder:
    platform = "telegram"

    def __init__(self) -> None:
        self.got: dict[str, Digest] = {}

    async def post_digest(self, chat_id: str, digest: Digest, **_: object) -> str:  # resume, on_progress
        self.got[chat_id] = digest
        return f"m-{chat_id}"


async def test_the_morning_fan_out_filters_per_subscription(settings: Settings, store: Store) -> None:
    await sample(settings, store)
    subs = {
        "all": Subscription(platform="telegram", chat_id="all"),
        "audio": Subscription(platform="telegram", chat_id="audio", topics=["audio"]),
        "none": Subscription(platform="telegram", chat_id="none", topics=["quantum"]),
    }
    for sub in subs.values():
        await store.put_subscription(sub)
    slots = [scheduler.Slot(sub, DAY, datetime.now(UTC)) for sub in subs.values()]
    poster = Recorder()
    report = await FanOut(settings, store, {"telegram": poster}, "test").run(slots)
    assert report.results["sent"] == 3
    assert [i.rank for i in poster.got["all"].items] == [1, 2, 3, 4, 5] and poster.got["all"].topic_filter is None
    assert [i.rank for i in poster.got["audio"].items] == [5]
    assert poster.got["none"].items == [] and poster.got["none"].topic_filter is not None


@pytest.mark.parametrize(
    ("text", "topics", "post_time"),
    [
        ("topics RL, audio", ["rl", "audio"], None),
        ("08:30 topics reinforcement learning", ["reinforcement", "learning"], time(8, 30)),
        ("주제 오디오, 강화학습", ["오디오", "강화학습"], None),
        ("topics off", [], None),
        ("08:30", None, time(8, 30)),
    ],
)
def test_slack_subscribe_accepts_topics(text: str, topics: list[str] | None, post_time: time | None) -> None:
    request = subscribe.parse(text)
    assert (request.action, request.topics, request.post_time) == ("subscribe", topics, post_time)


def test_slack_topics_with_nothing_after_it_is_a_mistake() -> None:
    with pytest.raises(subscribe.BadRequest):
        subscribe.parse("topics")


async def test_subscribe_stores_topics_and_status_shows_them(store: Store) -> None:
    ctx = Context(today=DAY, platform="slack", chat_id="C1", lang="en", subscribe_command="/digest-subscribe")

    async def say(text: str) -> str:
        reply = await answer(text, store, ctx)
        return " ".join(p for part in reply.parts for p in part.paragraphs)

    assert "Topics: rl, audio" in await say("/digest-subscribe topics RL, audio")
    sub = await store.get_subscription("slack", "C1")
    assert sub is not None and sub.topics == ["rl", "audio"]
    await say("/digest-subscribe 09:00")  # other settings leave the topics alone
    assert "Topics: rl, audio" in await say("/digest-subscribe status")
    assert "Topics: rl, audio" in await say("/settings")
    assert "Topics: all" in await say("/settings topics off")
    sub = await store.get_subscription("slack", "C1")
    assert sub is not None and sub.topics == [] and sub.post_time == time(9)


def test_settings_topics_keep_phrases_and_off_clears_them() -> None:
    request = subscribe.parse("topics Reinforcement Learning, audio", "settings")
    assert (request.action, request.topics) == ("change", ["reinforcement learning", "audio"])
    assert subscribe.parse("topics off", "settings").topics == []

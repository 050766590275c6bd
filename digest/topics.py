"""Subscription topics: which of a digest's papers a chat with topics gets in its morning post.

Platform-free. A topic matches a paper when it appears, ignoring case, as a whole word or phrase in one of the
paper's brief tags, its Hugging Face ai_keywords or its title: "rl" matches "Composition-RL" and the tag "RL",
not "world"; "agents" matches "Agent" and "multi-agent systems" (a final plural s is optional); a phrase
("reinforcement learning") matches across spaces, hyphens or underscores. Letters that are not ASCII (Korean)
need no word boundary, so "강화" matches "강화학습".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from digest.models import Digest, Item, TopicFilter

MAX_TOPICS = 20
MAX_TOPIC_CHARS = 40
CLEAR_WORDS = frozenset({"all", "off", "none", "clear", "전체", "해제"})


def parse_topics(text: str) -> list[str]:
    """ "RL, audio" or "rl audio" -> ["rl", "audio"]; "reinforcement learning, audio" keeps the phrase (commas
    separate topics when there are any, else spaces do). "off"/"all"/"전체" (alone) -> [] (every paper)."""
    text = text.strip().lower()
    if text in CLEAR_WORDS:
        return []
    pieces = text.split(",") if "," in text else text.split()
    topics = [" ".join(p.split())[:MAX_TOPIC_CHARS] for p in pieces]
    return list(dict.fromkeys(t for t in topics if t))[:MAX_TOPICS]


@lru_cache(maxsize=512)
def _pattern(topic: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in re.split(r"[\s_\-]+", topic.strip().lower()) if w]
    if not words:
        return re.compile(r"(?!x)x")  # matches nothing
    last = words[-1]
    if len(last) > 3 and last.endswith("s") and not last.endswith("ss"):
        last = last[:-1]  # "agents" -> "agent", then the plural is optional below
    body = r"[\s_\-]+".join([*words[:-1], last])
    return re.compile(rf"(?<![a-z0-9]){body}(?:s|es)?(?![a-z0-9])", re.IGNORECASE)


def item_matches(item: Item, topics: Sequence[str]) -> bool:
    fields = [*item.brief.tags, *item.paper.ai_keywords, item.paper.title]
    return any(_pattern(topic).search(text) for topic in topics for text in fields)


def for_topics(digest: Digest, topics: Sequence[str]) -> Digest:
    """The digest a chat with `topics` gets: only the matching papers, in their rank order and with their
    original rank numbers (so "/paper 3 risks" means the same paper as in the full digest), and only their
    highlights; not the day's actions, which are written from all five papers and name them. No topics: the
    digest itself. No match: no papers, a short post; `topic_filter` tells the renderers how many papers the
    full digest has, to say so and point at /digest."""
    topics = [t for t in topics if t.strip()]
    if not topics:
        return digest
    items = [item for item in digest.items if item_matches(item, topics)]
    ranks = {item.rank for item in items}
    return digest.model_copy(
        update={
            "items": items,
            "highlights": [h for h in digest.highlights if h.rank in ranks],
            "daily_actions": [],  # written from all five briefs and naming them; /digest shows them
            "topic_filter": TopicFilter(topics=list(topics), total=len(digest.items)),
        }
    )

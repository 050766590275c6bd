"""Prometheus counters in one registry, exposed by `digestbot serve` at /metrics.

`digestbot serve` and `digestbot run` are separate processes; set PROMETHEUS_MULTIPROC_DIR (the same empty
directory for both) to have /metrics add up every process's counters on the machine. Without it /metrics shows
the serving process's own counters plus today's ledger, which it reads from the store (see bot/web.py).
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

REGISTRY = CollectorRegistry(auto_describe=True)

POSTS_SENT = Counter("digest_posts_sent", "Morning posts accepted by the platform", ["platform"], registry=REGISTRY)
POSTS_FAILED = Counter(
    "digest_posts_failed", "Morning post attempts that failed", ["platform", "kind"], registry=REGISTRY
)
COMMANDS_ANSWERED = Counter(
    "digest_commands_answered",
    "Follow-ups answered (commands, buttons, mentions) by reply kind: answer, error, help, unavailable",
    ["platform", "kind"],
    registry=REGISTRY,
)
UPDATES = Counter(
    "digest_updates",
    "Updates a platform delivered to a webhook, by outcome: queued, duplicate, malformed, refused (queue full)",
    ["platform", "outcome"],
    registry=REGISTRY,
)
LLM_TOKENS = Counter("digest_llm_tokens", "LLM tokens spent by builds", ["direction"], registry=REGISTRY)
BUILDS = Counter("digest_builds", "Digest builds", ["outcome"], registry=REGISTRY)
BUILD_SECONDS = Histogram(
    "digest_build_duration_seconds",
    "Wall time of one digest build",
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1200),
    registry=REGISTRY,
)


def command_answered(platform: str, kind: str) -> None:
    """One follow-up answered; each adapter calls this where it sends the reply (bot/commands stays platform-free)."""
    COMMANDS_ANSWERED.labels(platform, kind).inc()


def update_received(platform: str, outcome: str) -> None:
    UPDATES.labels(platform, outcome).inc()


def build_done(input_tokens: int, output_tokens: int, seconds: float) -> None:
    """A stored build, from `digestbot run`'s scheduler or `digestbot build`/`demo`."""
    BUILDS.labels("ok").inc()
    BUILD_SECONDS.observe(seconds)
    LLM_TOKENS.labels("input").inc(input_tokens)
    LLM_TOKENS.labels("output").inc(output_tokens)


def exposition() -> bytes:
    """The text format: every process's counters when PROMETHEUS_MULTIPROC_DIR is set, else this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)

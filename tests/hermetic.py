"""The suite runs the same in any shell: imported first by conftest, before anything reads a setting.

Every variable the bot reads is cleared (its settings, keys, tokens, Redis, port, metrics folder, and the XDG
folders its per-user defaults come from), and HOME points into a temporary folder, so neither the caller's
configuration nor the real home is ever read or written. Variables named DIGEST_TEST_* are the suite's own
knobs (a shared test Redis, the screenshot folder) and stay.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

TEST_KNOB_PREFIX = "DIGEST_TEST_"
CLEARED_PREFIXES = ("DIGEST_", "OPENAI_", "SLACK_", "TELEGRAM_", "XDG_")
CLEARED_NAMES = ("REDIS_URL", "PORT", "PROMETHEUS_MULTIPROC_DIR")

# pip's own cache and configuration live in the real home; the wheel test installs with them (and only pip sees them).
PIP_USER_ENV = {name: os.environ[name] for name in ("HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME") if name in os.environ}


def clear_environment() -> None:
    for name in list(os.environ):
        if name.startswith(TEST_KNOB_PREFIX):
            continue
        if name.startswith(CLEARED_PREFIXES) or name in CLEARED_NAMES:
            del os.environ[name]


def temporary_home() -> str:
    home = tempfile.mkdtemp(prefix="digest-test-home-")
    atexit.register(shutil.rmtree, home, ignore_errors=True)
    return home


clear_environment()
os.environ["HOME"] = temporary_home()

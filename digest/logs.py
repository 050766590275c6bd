"""Logging to stderr with every configured secret redacted, and httpx kept quiet (its URLs carry tokens)."""

from __future__ import annotations

import logging
import re
import sys

# Telegram puts the bot token in the URL path (/bot123:ABC/sendMessage); redact the shape even when unknown.
_TOKEN_SHAPES = re.compile(
    r"(bot)?\d{6,12}:[A-Za-z0-9_-]{30,}|xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|sk-[A-Za-z0-9_-]{16,}"
)


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        self.secrets = sorted(set(secrets or []), key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return _TOKEN_SHAPES.sub("***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redact(message)
        if record.exc_info and record.exc_text is None:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def configure_logging(secrets: list[str] | None = None, level: int = logging.INFO) -> RedactSecrets:
    redactor = RedactSecrets(secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    handler.addFilter(redactor)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # openai 3.x sends through its own httpx2 fork, which logs every request at INFO.
    for noisy in ("httpx", "httpx2", "httpcore", "openai._base_client", "telegram.ext.Updater"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return redactor

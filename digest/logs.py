"""Logging to stderr with every configured secret redacted, and httpx kept quiet (its URLs carry tokens).

The same redaction serves every message to the terminal (`redact`), not only log records: a token in an
error message must never reach a screen or a log file.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable

# The LLM key's shape; the chat adapters add theirs (a key can leak before settings name it, e.g. in a URL).
CORE_TOKEN_SHAPES: tuple[str, ...] = (r"sk-[A-Za-z0-9_-]{16,}",)


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: Iterable[str] | None = None, shapes: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = sorted(set(secrets or []), key=len, reverse=True)
        self.shapes = re.compile("|".join(f"(?:{shape})" for shape in (*CORE_TOKEN_SHAPES, *shapes)))

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return self.shapes.sub("***", text)

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


_current = RedactSecrets()


def redact(text: str) -> str:
    """`text` with every secret and token shape the logging was configured with replaced by ***."""
    return _current.redact(text)


def configure_redaction(secrets: Iterable[str] | None = None, shapes: Iterable[str] = ()) -> RedactSecrets:
    """What `redact` hides from now on: these secret values, and tokens of these shapes (regular expressions)."""
    global _current
    _current = RedactSecrets(secrets, shapes)
    return _current


def configure_logging(
    secrets: Iterable[str] | None = None, level: int = logging.INFO, shapes: Iterable[str] = ()
) -> RedactSecrets:
    """Log to stderr through the redaction; `shapes` are regular expressions of tokens to hide even when unknown."""
    redactor = configure_redaction(secrets, shapes)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
    handler.addFilter(redactor)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # openai 3.x sends through its own httpx2 fork, which logs every request at INFO.
    for noisy in ("httpx", "httpx2", "httpcore", "openai._base_client"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return redactor

"""Every POST route of `digestbot serve` refuses a body over 1 MB with 413 before reading it, declared or chunked,
and no request body reaches the log at any level."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from bot.body_limit import MAX_BODY_BYTES
from bot.web import create_app
from digest.settings import Settings
from tests.fakes.base import ServerThread
from tests.fakes.slack import FakeSlack
from tests.fakes.telegram import TOKEN, FakeTelegram
from tests.slack_support import build_day_sync, slack_settings, store_for, wait_for
from tests.telegram_support import SECRET, message_update

ROUTES = ["/slack/events", "/telegram/webhook"]
MARK = b"BODY-NEVER-LOGGED-"


@pytest.fixture
def server_url(
    fake_slack: FakeSlack, fake_telegram: FakeTelegram, make_settings: Callable[..., Settings]
) -> Iterator[str]:
    settings = slack_settings(
        make_settings,
        fake_slack,
        telegram_bot_token=TOKEN,
        telegram_api_base_url=fake_telegram.url + "/bot",  # type: ignore[attr-defined]
        telegram_webhook_secret=SECRET,
    )
    build_day_sync(settings)
    with ServerThread(create_app(settings, store_for(settings))) as server:
        yield server.url


def raw_post(url: str, path: str, head: dict[str, str], body: Iterator[bytes]) -> tuple[int, int]:
    """POST over a plain socket, sending `body` from a thread while the response is read: (status, bytes sent).

    A client that keeps writing after the server answered is what a flood looks like; httpx would only read the
    answer after writing everything."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=60)
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in head.items()), "", ""]
    sock.sendall("\r\n".join(lines).encode())
    sent = 0

    def write() -> None:
        nonlocal sent
        try:
            for chunk in body:
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:  # the server closed the connection: it stopped listening to this body
            pass

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    response = b""
    try:
        while b"\r\n" not in response:
            data = sock.recv(4096)
            if not data:
                break
            response += data
    finally:
        sock.close()
        writer.join(60)
    return int(response.split(b" ", 2)[1]), sent


def plain(total: int) -> Iterator[bytes]:
    piece = MARK * (65536 // len(MARK))
    for _ in range(total // len(piece)):
        yield piece


def chunked(total: int) -> Iterator[bytes]:
    for piece in plain(total):
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    yield b"0\r\n\r\n"


@pytest.mark.parametrize("path", ROUTES)
def test_a_declared_10_mb_body_is_refused_before_it_is_read(
    server_url: str, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    status, _ = raw_post(
        server_url, path, {"Content-Type": "application/json", "Content-Length": str(10_000_000)}, plain(10_000_000)
    )
    assert status == 413
    assert not [r for r in caplog.records if MARK.decode() in r.getMessage()]
    assert any("refused a 10000000-byte body" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("path", ROUTES)
def test_a_chunked_100_mb_body_is_cut_off_at_the_limit(
    server_url: str, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    status, _ = raw_post(
        server_url, path, {"Content-Type": "application/json", "Transfer-Encoding": "chunked"}, chunked(100_000_000)
    )
    assert status == 413
    assert not [r for r in caplog.records if MARK.decode() in r.getMessage()]
    (refusal,) = [r.getMessage() for r in caplog.records if "refused a streamed body" in r.getMessage()]
    read = int(refusal.split(" after ")[1].split(" bytes")[0])
    # The limit, plus the last piece the server handed over (its flow control pauses the socket at 64 KB buffered).
    assert MAX_BODY_BYTES < read < 2 * MAX_BODY_BYTES


def test_an_unsigned_slack_request_is_refused_and_its_body_is_not_logged(
    server_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = b"command=%2Fpaper&text=" + MARK * 1000
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    forged = {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64}
    for headers in (form, form | forged):
        assert httpx.post(server_url + "/slack/events", content=body, headers=headers).status_code == 401
    assert not [r for r in caplog.records if MARK.decode() in r.getMessage()]


def test_a_chunked_update_under_the_limit_reaches_the_webhook_whole(
    server_url: str, fake_telegram: FakeTelegram
) -> None:
    import json

    update = json.dumps(message_update(4343, "/help")).encode()
    status, _ = raw_post(
        server_url,
        "/telegram/webhook",
        {"Content-Type": "application/json", "Transfer-Encoding": "chunked", "X-Telegram-Bot-Api-Secret-Token": SECRET},
        iter([f"{len(update[:10]):x}\r\n".encode() + update[:10] + b"\r\n",
              f"{len(update[10:]):x}\r\n".encode() + update[10:] + b"\r\n", b"0\r\n\r\n"]),
    )  # fmt: skip
    assert status == 200
    wait_for(lambda: fake_telegram.sent(4343), "the answer", 30)

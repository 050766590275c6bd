"""Telegram HTML: escaped, split on line boundaries under 4,096 UTF-16 units, never inside a tag or grapheme."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands.reply import Link, Part, Reply
from bot.telegram.html import MAX_MESSAGE, reply_to_messages
from digest.text import utf16_len

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one grapheme, 8 UTF-16 units


class Balanced(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text = ""

    def handle_starttag(self, tag, attrs):
        self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack.pop() == tag, tag

    def handle_data(self, data):
        self.text += data


def check(message: str) -> str:
    assert 0 < utf16_len(message) <= MAX_MESSAGE
    assert not re.search(r"&(?!(lt|gt|amp|quot);)", message)  # every & starts an entity Telegram knows
    parser = Balanced()
    parser.feed(message)
    parser.close()
    assert parser.stack == []
    return parser.text


def test_markup_in_text_is_escaped_and_links_come_from_the_reply():
    reply = Reply(
        title="<b>x</b> & y", parts=[Part(items=["a < b"])], links=[Link(label="PDF", url="https://a/?x=1&y=2")]
    )
    (message,) = reply_to_messages(reply)
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in message and "• a &lt; b" in message
    assert '<a href="https://a/?x=1&amp;y=2">PDF</a>' in message
    check(message)


def test_a_long_reply_is_split_without_cutting_an_emoji_or_an_entity():
    paragraph = (FAMILY + " a&b <c> 한국어 ") * 900  # one line, far over the limit
    reply = Reply(title="T", parts=[Part(heading="H", paragraphs=[paragraph]), Part(items=["x" * 5000])])
    messages = reply_to_messages(reply)
    assert len(messages) > 3
    text = "".join(check(m) for m in messages)
    assert text.count(FAMILY) == 900
    assert "\ufffd" not in text


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=3000), min_size=0, max_size=6), st.text(max_size=200))
def test_any_reply_gives_valid_messages(paragraphs, title):
    for message in reply_to_messages(Reply(title=title or None, parts=[Part(paragraphs=paragraphs)])):
        check(message)

"""The settings file as users copy it: config/settings.example.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from bot.platform import registry
from digest.settings import ConfigError, Settings, load_settings

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "settings.example.toml"


def test_every_key_of_the_example_file_takes_effect(monkeypatch):
    """A key below a [table] line belongs to that table, so the tables must come last for the rest to count."""
    monkeypatch.setenv("DIGEST_CONFIG", str(EXAMPLE))
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    settings = load_settings()
    core = {key: value for key, value in data.items() if key not in registry.ADAPTERS}
    assert set(core) <= settings.model_fields_set
    for key, value in core.items():
        expected = TypeAdapter(Settings.model_fields[key].annotation).validate_python(value)
        assert getattr(settings, key) == expected, key
    assert set(settings.prices) == {"gpt-4o-mini", "gpt-4o", "gpt-4.1-mini"}
    for name, chat in registry.platforms(settings).items():  # each chat platform's own table
        table = data[name]
        assert set(table) <= chat.own.model_fields_set, name
        for key, value in table.items():
            assert getattr(chat.own, key) == TypeAdapter(type(chat.own).model_fields[key].annotation).validate_python(
                value
            )


def test_the_example_file_lists_every_setting_but_the_secrets():
    text = EXAMPLE.read_text(encoding="utf-8")
    listed = set(re.findall(r"^#? ?(\w+) = ", text, re.M)) | set(tomllib.loads(text))
    assert set(Settings.model_fields) - {"openai_api_key", "sections"} <= listed


def test_every_settings_model_forbids_unknown_keys():
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings(prices={"m": {"input": 1, "output": 2, "cached_input": 0.5}})
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings(timzone="UTC")

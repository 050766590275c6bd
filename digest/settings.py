"""Settings: the settings file (see `settings_file`), then the environment, which wins.

Files are never looked up relative to where the code lives, and the current folder only counts when it holds
a checkout's own `config/settings.toml` or `var/`: an installed `digestbot` run from any folder finds the same
settings and the same data.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from datetime import time
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from digest.models import Lang

APP_DIR_NAME = "paper-digest-bot"
LOCAL_CONFIG_FILE = Path("config/settings.toml")
LOCAL_DATA_DIR = Path("var")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the setting and says what would work."""


def _xdg_dir(variable: str, fallback: str) -> Path:
    """An XDG base directory: the variable when it is an absolute path (the spec ignores others), else ~/fallback."""
    value = os.environ.get(variable, "")
    return Path(value) if os.path.isabs(value) else Path.home() / fallback


def settings_file() -> Path:
    """DIGEST_CONFIG; else ./config/settings.toml when it exists (a checkout's own); else the per-user file
    $XDG_CONFIG_HOME/paper-digest-bot/settings.toml (~/.config/paper-digest-bot/settings.toml). It may not exist."""
    named = os.environ.get("DIGEST_CONFIG")
    if named:
        return Path(named)
    if LOCAL_CONFIG_FILE.is_file():
        return LOCAL_CONFIG_FILE.absolute()
    return _xdg_dir("XDG_CONFIG_HOME", ".config") / APP_DIR_NAME / "settings.toml"


def default_data_dir() -> Path:
    """Without DIGEST_DATA_DIR (or data_dir in the settings file): ./var when it exists (a checkout's own), else
    the per-user folder $XDG_DATA_HOME/paper-digest-bot (~/.local/share/paper-digest-bot)."""
    if LOCAL_DATA_DIR.is_dir():
        return LOCAL_DATA_DIR.absolute()
    return _xdg_dir("XDG_DATA_HOME", ".local/share") / APP_DIR_NAME


def bundled_prompts_dir() -> Path:
    """The prompt files shipped inside the package (DIGEST_PROMPTS_DIR replaces them)."""
    return Path(str(resources.files("digest") / "prompts"))


def _env(name: str) -> Any:
    """The documented environment name; the settings file uses the field name (see _SettingsFile)."""
    return AliasChoices(name)


class ModelPrice(BaseModel):
    """US dollars per million tokens."""

    model_config = ConfigDict(extra="forbid")

    input: float = Field(ge=0)
    output: float = Field(ge=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        extra="forbid",
        case_sensitive=False,
        env_ignore_empty=True,
    )

    # Sources
    hf_base_url: str = Field("https://huggingface.co", validation_alias=_env("DIGEST_HF_BASE_URL"))
    arxiv_base_url: str = Field("https://export.arxiv.org", validation_alias=_env("DIGEST_ARXIV_BASE_URL"))
    arxiv_min_interval_s: float = Field(3.0, ge=0, validation_alias=_env("DIGEST_ARXIV_MIN_INTERVAL"))
    # arXiv's web pages (full text): `{base}/html/{id}v{n}`, then `{base}/pdf/{id}v{n}`; paced per process.
    arxiv_web_base_url: str = Field("https://arxiv.org", validation_alias=_env("DIGEST_ARXIV_WEB_BASE_URL"))
    arxiv_web_min_interval_s: float = Field(1.0, ge=0, validation_alias=_env("DIGEST_ARXIV_WEB_MIN_INTERVAL"))
    http_timeout_s: float = Field(20.0, gt=0, validation_alias=_env("DIGEST_HTTP_TIMEOUT"))
    http_retries: int = Field(4, ge=0, le=10, validation_alias=_env("DIGEST_HTTP_RETRIES"))
    http_backoff_s: float = Field(1.0, ge=0, validation_alias=_env("DIGEST_HTTP_BACKOFF"))

    # Selection
    top_k: int = Field(5, ge=1, le=20, validation_alias=_env("DIGEST_TOP_K"))
    lag_hours: float = Field(2.0, ge=0, le=72, validation_alias=_env("DIGEST_LAG_HOURS"))
    fallback_days: int = Field(3, ge=0, le=14, validation_alias=_env("DIGEST_FALLBACK_DAYS"))
    dedup_days: int = Field(7, ge=0, le=60, validation_alias=_env("DIGEST_DEDUP_DAYS"))

    # LLM
    openai_api_key: SecretStr | None = Field(None, validation_alias=_env("OPENAI_API_KEY"))
    openai_base_url: str | None = Field(None, validation_alias=_env("OPENAI_BASE_URL"))
    model: str = Field("gpt-4o-mini", validation_alias=_env("DIGEST_MODEL"))
    prompts_dir: Path = Field(default_factory=bundled_prompts_dir, validation_alias=_env("DIGEST_PROMPTS_DIR"))
    # Calls in flight at once: five briefs and the digest-level call, so a build takes about one call's time.
    llm_concurrency: int = Field(6, ge=1, le=64, validation_alias=_env("DIGEST_LLM_CONCURRENCY"))
    llm_timeout_s: float = Field(60.0, gt=0, validation_alias=_env("DIGEST_LLM_TIMEOUT"))
    # The SDK's own retries of 429 (Retry-After honoured), 5xx, timeouts and connection errors, per call.
    llm_retries: int = Field(2, ge=0, le=10, validation_alias=_env("DIGEST_LLM_RETRIES"))
    llm_max_output_tokens: int = Field(2500, ge=256, le=32000, validation_alias=_env("DIGEST_LLM_MAX_OUTPUT_TOKENS"))
    daily_budget_usd: float | None = Field(None, ge=0, validation_alias=_env("DIGEST_DAILY_BUDGET_USD"))
    prices: dict[str, ModelPrice] = Field(
        default_factory=lambda: {
            "gpt-4o-mini": ModelPrice(input=0.15, output=0.60),
            "gpt-4o": ModelPrice(input=2.50, output=10.00),
            "gpt-4.1-mini": ModelPrice(input=0.40, output=1.60),
        }
    )

    # Storage
    redis_url: str | None = Field(None, validation_alias=_env("REDIS_URL"))
    data_dir: Path = Field(default_factory=default_data_dir, validation_alias=_env("DIGEST_DATA_DIR"))
    key_prefix: str = Field("digestbot", validation_alias=_env("DIGEST_KEY_PREFIX"))
    # REDIS_URL names one node of a Redis Cluster: the client discovers the others and follows slot moves.
    redis_cluster: bool = Field(False, validation_alias=_env("DIGEST_REDIS_CLUSTER"))
    # How long the delivery ledger, its counts and the once-keys are kept after their last change (days).
    retention_days: int = Field(30, ge=2, le=3650, validation_alias=_env("DIGEST_RETENTION_DAYS"))

    # Schedule and language
    timezone: str = Field("Asia/Seoul", validation_alias=_env("DIGEST_TIMEZONE"))
    post_time: time = Field(time(8, 0), validation_alias=_env("DIGEST_POST_TIME"))
    lang: Lang = Field("ko", validation_alias=_env("DIGEST_LANG"))
    public_url: str | None = Field(None, validation_alias=_env("DIGEST_PUBLIC_URL"))

    # Morning delivery (bot/scheduler, bot/delivery): see README "Morning delivery"
    build_source: str = Field("auto", validation_alias=_env("DIGEST_SOURCE"))  # auto or a digest.sources name
    build_lead_minutes: float = Field(30.0, ge=0, le=720, validation_alias=_env("DIGEST_BUILD_LEAD_MINUTES"))
    # A chat whose post time passed less than this long ago is still served (restarts, outages); later it is missed.
    catchup_hours: float = Field(3.0, ge=0, le=23, validation_alias=_env("DIGEST_CATCHUP_HOURS"))
    # What to do with a chat whose sender died between claiming and recording the post (see README).
    delivery_mode: Literal["at-least-once", "at-most-once"] = Field(
        "at-least-once", validation_alias=_env("DIGEST_DELIVERY_MODE")
    )
    claim_ttl_s: float = Field(300.0, gt=0, validation_alias=_env("DIGEST_CLAIM_TTL"))
    leader_ttl_s: float = Field(30.0, gt=0, validation_alias=_env("DIGEST_LEADER_TTL"))
    scheduler_tick_s: float = Field(30.0, gt=0, le=3600, validation_alias=_env("DIGEST_TICK"))
    delivery_retries: int = Field(3, ge=0, le=10, validation_alias=_env("DIGEST_DELIVERY_RETRIES"))
    delivery_backoff_s: float = Field(2.0, ge=0, validation_alias=_env("DIGEST_DELIVERY_BACKOFF"))
    max_chat_failures: int = Field(3, ge=1, le=100, validation_alias=_env("DIGEST_MAX_CHAT_FAILURES"))
    # Posts in flight at once per chat platform (each platform paces its starts per second itself).
    delivery_concurrency: int = Field(32, ge=1, le=256, validation_alias=_env("DIGEST_DELIVERY_CONCURRENCY"))

    # The settings file's tables that other parts own (a chat platform's table), kept as read: their owner
    # validates them (bot/platform), so the core names none of them.
    sections: dict[str, dict[str, Any]] = Field(default_factory=dict, exclude=True)

    @field_validator("build_source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        from digest.sources.registry import UnknownSource, check_name

        try:
            return check_name(value.strip().lower())
        except UnknownSource as exc:
            raise ValueError(str(exc)) from None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA timezone; try e.g. 'Asia/Seoul' or 'UTC'") from None
        return value

    @field_validator("post_time", mode="before")
    @classmethod
    def _hh_mm(cls, value: Any) -> Any:
        if isinstance(value, str) and not re.fullmatch(r"([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d)?", value.strip()):
            raise ValueError(f"{value!r} is not a time of day; write HH:MM, e.g. '08:00'")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        # Never echo the value: a Redis URL may carry a password.
        if value is not None and not re.match(r"(redis|rediss|unix)://", value):
            raise ValueError("must start with redis://, rediss:// or unix:// (e.g. redis://localhost:6379/0)")
        return value

    @field_validator("hf_base_url", "arxiv_base_url", "arxiv_web_base_url", "openai_base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return http_url(value)

    @field_validator("data_dir", "prompts_dir")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        # Fixed once at start-up: messages name the full path, and a later chdir cannot move the store.
        return Path(os.path.abspath(value.expanduser()))

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def secret_values(self) -> list[str]:
        """Every configured secret of the core, for the log redaction filter (the chat platforms add theirs)."""
        values = secret_values(self)
        if self.redis_url and "@" in self.redis_url:
            values.append(self.redis_url.split("@", 1)[0].rsplit(":", 1)[-1])
        return [v for v in values if len(v) >= 6]

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _SettingsFile(settings_cls))


def http_url(value: str | None) -> str | None:
    """The check every base URL setting gets: a scheme and a host (the value is not a secret, so it is echoed)."""
    if value is not None and not re.match(r"https?://[^\s/]+", value):
        raise ValueError(f"{value!r} is not an http(s) URL")
    return value


def secret_values(model: BaseModel) -> list[str]:
    """The values of a settings model's SecretStr fields that are set, long enough to be worth redacting."""
    values = [getattr(model, name) for name in type(model).model_fields]
    return [v.get_secret_value() for v in values if isinstance(v, SecretStr) and len(v.get_secret_value()) >= 6]


def env_name(model: type[BaseModel], field_name: str) -> str | None:
    """The documented environment name of a field (its first validation alias)."""
    info = model.model_fields.get(field_name)
    alias = info.validation_alias if info else None
    return alias.choices[0] if isinstance(alias, AliasChoices) else None  # type: ignore[return-value]


def by_env_name(model: type[BaseModel], values: dict[str, Any]) -> dict[str, Any]:
    """Settings-file keys (field names) renamed to the env names the model validates by; unknown keys stay as
    they are, so the model's extra="forbid" names them."""
    return {env_name(model, key) or key: value for key, value in values.items()}


def read_settings_file() -> tuple[Path, dict[str, Any]]:
    """The settings file (see `settings_file`) and its TOML as a dict; {} when there is none."""
    path = settings_file()
    if not path.is_file():
        return path, {}
    try:
        return path, tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the settings file {path}: {exc}") from None


class _SettingsFile(PydanticBaseSettingsSource):
    """The TOML settings file, keyed by field name; keys are renamed to the env alias the model validates by.

    (pydantic-settings would also match an env var named like the field, so `LANG=C.UTF-8` would become `lang`.)
    """

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover - unused
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        path, data = read_settings_file()
        out: dict[str, Any] = {}
        sections: dict[str, dict[str, Any]] = {}
        for key, value in data.items():
            if key not in Settings.model_fields and isinstance(value, dict):
                sections[key] = value  # a table another part owns, validated by it
                continue
            out[env_name(Settings, key) or key] = value
        check_file_keys(Settings, {key: value for key, value in data.items() if key not in sections}, path)
        if sections:
            out["sections"] = sections
        return out


def check_file_keys(model: type[BaseModel], data: Mapping[str, Any], path: Path, table: tuple[str, ...] = ()) -> None:
    """Every key of a settings file is a field of `model` (and of the models in its tables), else ConfigError naming
    the key and the nearest valid one: a typo, or a key that landed under a [table] line, is never silently ignored."""
    for key, value in data.items():
        info = model.model_fields.get(key)
        if info is None:
            raise ConfigError(_unknown_key(key, model, path, table))
        for sub_key, sub_model, sub_data in _tables(info.annotation, key, value):
            check_file_keys(sub_model, sub_data, path, (*table, *sub_key))


def _tables(annotation: Any, key: str, value: Any) -> list[tuple[tuple[str, ...], type[BaseModel], Any]]:
    """The nested models a value is validated as: a model field, or a dict of models (one per key)."""
    if not isinstance(value, dict):
        return []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [((key,), annotation, value)]
    args = get_args(annotation)
    if (
        get_origin(annotation) is dict
        and len(args) == 2
        and isinstance(args[1], type)
        and issubclass(args[1], BaseModel)
    ):
        return [((key, name), args[1], item) for name, item in value.items() if isinstance(item, dict)]
    return []


def _unknown_key(key: str, model: type[BaseModel], path: Path, table: tuple[str, ...]) -> str:
    where = f"in {path}" if not table else f"in the table [{'.'.join(_toml_key(t) for t in table)}] of {path}"
    message = f"unknown setting {key!r} {where}"
    if table and model is not Settings and key in Settings.model_fields:
        return f"{message}; it is a top-level setting: move it above the first [table] line"
    by_env_name = {
        choice.lower(): name
        for name, info in model.model_fields.items()
        if isinstance(info.validation_alias, AliasChoices)
        for choice in info.validation_alias.choices
        if isinstance(choice, str)
    }
    nearest = by_env_name.get(key.lower()) or next(iter(difflib.get_close_matches(key, model.model_fields, n=1)), None)
    if nearest:
        return f"{message}; did you mean {nearest!r}?"
    return f"{message}; config/settings.example.toml lists every key"


def _toml_key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else f'"{name}"'


def _setting_name(loc: tuple[Any, ...]) -> str:
    key = str(loc[0]) if loc else "?"
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        if name == key or (isinstance(alias, AliasChoices) and key in alias.choices):
            env_name = alias.choices[0] if isinstance(alias, AliasChoices) else None
            return f"{env_name} (settings file key '{name}')" if env_name else f"'{name}'"
    return f"'{key}'"


def load_settings(**overrides: Any) -> Settings:
    """Load settings, turning pydantic's error list into one ConfigError that names the setting."""
    config_file = os.environ.get("DIGEST_CONFIG")
    if config_file and not Path(config_file).is_file():
        raise ConfigError(f"DIGEST_CONFIG points to {config_file!r}, which is not a file")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = _setting_name(tuple(error.get("loc", ())))
            message = error.get("msg", "invalid").removeprefix("Value error, ")
            if error.get("type") == "extra_forbidden":
                message = "unknown setting; see config/settings.example.toml for the valid keys"
            problems.append(f"{name}: {message}")
        raise ConfigError("bad setting " + "; ".join(problems)) from None

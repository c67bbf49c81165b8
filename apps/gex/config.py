"""Configuration of the GEXBot API client: one frozen value, built from the pipeline environment.

Connection settings come from the environment (`GEXBOT_API_KEY`, `GEXBOT_BASE_URL`); the retry,
timeout and breaker numbers are code defaults chosen from the vendor's notes
(../shared/reference/gex_scid.md §1.4) and can be overridden where the config is built (tests do).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from pipeline_project.env import BASE_DIR, GEXBOT_API_KEY_PREFIX, ConfigError, ConfigProblem
from pipeline_project.env import check_gexbot_api_key as check_api_key

if TYPE_CHECKING:
    from pipeline_project.env import PipelineEnv

DEFAULT_BASE_URL = "https://api.gex.bot/v2"
# The vendor's token format, checked where the environment is read (pipeline_project/env.py).
API_KEY_PREFIX = GEXBOT_API_KEY_PREFIX


@cache
def project_version() -> str:
    """The platform's version from pyproject.toml (the project is run from its checkout, not installed)."""
    with (BASE_DIR / "pyproject.toml").open("rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


def default_user_agent() -> str:
    # GEXBot requires a User-Agent that identifies the client application.
    return f"data-pipeline/{project_version()} (+self-hosted)"


@dataclass(frozen=True, kw_only=True)
class GEXBotConfig:
    api_key: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    user_agent: str = field(default_factory=default_user_agent)
    # The vendor asks for timeouts of at most 1 s, but clients report 1-2 s answers under load
    # and raised theirs to 2.5-5 s; 2.5 s keeps a poll inside a few seconds without dropping
    # answers that are merely slow.
    timeout_seconds: float = 2.5
    # Presigned history files are one trading day (tens of MB), so they get their own read timeout.
    download_timeout_seconds: float = 60.0
    # Further attempts after the first, on 429, 5xx and transport errors.
    retries: int = 2
    backoff_base_seconds: float = 0.5
    # Caps both the exponential backoff and a server's Retry-After.
    backoff_cap_seconds: float = 10.0
    # Consecutive failed calls (each after its retries) that open the breaker, and how long it stays open.
    breaker_fail_max: int = 5
    breaker_reset_seconds: float = 30.0

    def __post_init__(self) -> None:
        try:
            check_api_key(self.api_key)
        except ValueError as error:
            raise ValueError(f"api_key {error}") from None
        if not self.base_url.startswith(("https://", "http://")) or self.base_url.endswith("/"):
            raise ValueError(f"base_url {self.base_url!r} must be an http(s) URL without a trailing slash")
        if not self.user_agent.strip():
            raise ValueError("user_agent must not be empty: GEXBot requires one")
        for name in ("timeout_seconds", "download_timeout_seconds", "backoff_base_seconds", "breaker_reset_seconds"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.backoff_cap_seconds < self.backoff_base_seconds:
            raise ValueError(
                f"backoff_cap_seconds ({self.backoff_cap_seconds}) must be at least "
                f"backoff_base_seconds ({self.backoff_base_seconds})"
            )
        if self.retries < 0:
            raise ValueError(f"retries must be 0 or more, got {self.retries!r}")
        if self.breaker_fail_max < 1:
            raise ValueError(f"breaker_fail_max must be at least 1, got {self.breaker_fail_max!r}")

    @classmethod
    def from_env(cls, env: PipelineEnv | None = None) -> GEXBotConfig:
        """The config from the pipeline environment (default: the one this process's settings loaded).

        Raises ConfigError naming GEXBOT_API_KEY when the key is missing or malformed.
        """
        if env is None:
            from django.conf import settings

            env = settings.ENV
        try:
            api_key = check_api_key(env.GEXBOT_API_KEY.get_secret_value())
        except ValueError as error:
            raise ConfigError([ConfigProblem("GEXBOT_API_KEY", str(error))]) from None
        return cls(api_key=api_key, base_url=env.GEXBOT_BASE_URL)

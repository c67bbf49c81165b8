"""The one typed layer between the process environment and the settings modules.

Every infrastructure variable and secret the platform reads is a field of `PipelineEnv`;
nothing else in the project reads `os.environ` for configuration. A bad value stops start-up
with the variable's name (`load_env_or_exit`), and `.env.example` documents every field (a test
keeps the two in step).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import dj_database_url
from pydantic import (
    Field,
    PositiveFloat,
    PositiveInt,
    RedisDsn,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict

BASE_DIR = Path(__file__).resolve().parent.parent

# Which variable enables a feature, and the secrets that feature cannot start without.
FEATURE_SECRETS: dict[str, tuple[str, ...]] = {
    "SCHWAB_ENABLED": ("SCHWAB_APP_KEY", "SCHWAB_APP_SECRET"),
    "TASTYTRADE_ENABLED": ("TASTYTRADE_CLIENT_SECRET", "TASTYTRADE_REFRESH_TOKEN"),
    "GEXBOT_ENABLED": ("GEXBOT_API_KEY",),
    "UW_ENABLED": ("UW_API_TOKEN",),
    "DISCORD_ENABLED": ("DISCORD_BOT_TOKEN",),
}

Port = Annotated[int, Field(ge=1, le=65535)]
CommaList = Annotated[list[str], NoDecode]


class PipelineEnv(BaseSettings):
    """Environment variables, named exactly as they are set (case-sensitive)."""

    model_config = SettingsConfigDict(
        case_sensitive=True,
        extra="ignore",
        env_file_encoding="utf-8",
        validate_default=True,
    )

    # Django
    DJANGO_DEBUG: bool = False
    DJANGO_SECRET_KEY: SecretStr = SecretStr("")
    DJANGO_ALLOWED_HOSTS: CommaList = Field(default_factory=lambda: ["127.0.0.1", "localhost"])
    DATABASE_URL: str = "sqlite:///var/db.sqlite3"
    DJANGO_SUPERUSER_USERNAME: str = "admin"
    DJANGO_SUPERUSER_EMAIL: str = "admin@localhost"
    DJANGO_SUPERUSER_PASSWORD: SecretStr = SecretStr("")

    # Redis and Celery
    REDIS_URL: RedisDsn = RedisDsn("redis://127.0.0.1:6379/0")
    EMBEDDED_REDIS: Literal["auto", "never"] = "auto"
    CELERY_BROKER_URL: RedisDsn | None = None
    CELERY_RESULT_BACKEND: RedisDsn | None = None
    CELERY_VISIBILITY_TIMEOUT_SECONDS: PositiveInt = 7200
    CELERY_WORKER_CONCURRENCY: PositiveInt = 2
    BEAT_LOCK_TTL_SECONDS: PositiveInt = 30

    # Processes started by the run command
    WEB_HOST: str = "127.0.0.1"
    WEB_PORT: Port = 8000
    FLOWER_PORT: Port = 5555
    FLOWER_BASIC_AUTH: SecretStr = SecretStr("")
    METRICS_HOST: str = "127.0.0.1"
    METRICS_TOKEN: SecretStr = SecretStr("")

    # Storage, logging, runtime configuration
    LAKE_DIR: Path = Path("var/lake")
    SIERRA_CHART_DIR: Path = Path("var/sierra")
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    LOG_FORMAT: Literal["console", "json"] = "console"
    RUNTIME_CONFIG_REFRESH_SECONDS: PositiveFloat = 2.0
    TEST_REDIS_DB: Annotated[int, Field(ge=0, le=15)] = 15
    FLUSH_FAILPOINT: Literal["", "after_write", "after_rename", "after_ack"] = ""

    # Outside services: off until switched on, and then their secrets are required
    SCHWAB_ENABLED: bool = False
    SCHWAB_APP_KEY: SecretStr = SecretStr("")
    SCHWAB_APP_SECRET: SecretStr = SecretStr("")
    TASTYTRADE_ENABLED: bool = False
    TASTYTRADE_CLIENT_SECRET: SecretStr = SecretStr("")
    TASTYTRADE_REFRESH_TOKEN: SecretStr = SecretStr("")
    GEXBOT_ENABLED: bool = False
    GEXBOT_API_KEY: SecretStr = SecretStr("")
    GEXBOT_BASE_URL: str = "https://api.gex.bot/v2"
    UW_ENABLED: bool = False
    UW_API_TOKEN: SecretStr = SecretStr("")
    DISCORD_ENABLED: bool = False
    DISCORD_BOT_TOKEN: SecretStr = SecretStr("")

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource, *args: Any, **kwargs: Any
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # load_env merges the env file and the environment into one mapping and passes it in;
        # reading os.environ here as well would make that mapping impossible to control.
        return (init_settings,)

    @field_validator("DJANGO_ALLOWED_HOSTS", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("DATABASE_URL")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgres://", "postgresql://")):
            raise ValueError("must be a sqlite:/// or postgres:// URL")
        dj_database_url.parse(value)
        return value

    @field_validator("GEXBOT_BASE_URL")
    @classmethod
    def _gexbot_base_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")) or value.endswith("/"):
            raise ValueError("must be an http(s) URL without a trailing slash, e.g. https://api.gex.bot/v2")
        return value

    @field_validator("FLOWER_BASIC_AUTH")
    @classmethod
    def _basic_auth(cls, value: SecretStr) -> SecretStr:
        raw = value.get_secret_value()
        if raw and (":" not in raw or raw.startswith(":") or raw.endswith(":")):
            raise ValueError("must have the form user:password")
        return value

    @property
    def broker_url(self) -> str:
        return str(self.CELERY_BROKER_URL or self.REDIS_URL)

    @property
    def result_backend(self) -> str:
        return str(self.CELERY_RESULT_BACKEND or self.REDIS_URL)

    @property
    def lake_dir(self) -> Path:
        return self.LAKE_DIR if self.LAKE_DIR.is_absolute() else BASE_DIR / self.LAKE_DIR

    @property
    def sierra_chart_dir(self) -> Path:
        return self.SIERRA_CHART_DIR if self.SIERRA_CHART_DIR.is_absolute() else BASE_DIR / self.SIERRA_CHART_DIR


@dataclass(frozen=True)
class ConfigProblem:
    variable: str
    message: str

    def __str__(self) -> str:
        return f"{self.variable}: {self.message}"


class ConfigError(Exception):
    """Raised when the environment cannot configure the platform; names every bad variable."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"invalid configuration:\n{lines}")


def env_file_path(environ: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if environ is None else environ
    return Path(environ.get("PIPELINE_ENV_FILE") or BASE_DIR / ".env")


def is_secret(name: str) -> bool:
    return PipelineEnv.model_fields[name].annotation is SecretStr


def _problems_from(error: ValidationError, values: Mapping[str, str]) -> list[ConfigProblem]:
    problems = []
    for item in error.errors():
        variable = str(item["loc"][0]) if item["loc"] else "environment"
        message = item["msg"]
        if variable in values and variable in PipelineEnv.model_fields and not is_secret(variable):
            message = f"{message} (got {values[variable]!r})"
        problems.append(ConfigProblem(variable, message))
    return problems


def _feature_problems(env: PipelineEnv) -> list[ConfigProblem]:
    return [
        ConfigProblem(secret, f"is required when {flag} is on")
        for flag, secrets in FEATURE_SECRETS.items()
        if getattr(env, flag)
        for secret in secrets
        if not getattr(env, secret).get_secret_value()
    ]


def read_env_file(path: Path) -> dict[str, str]:
    """Variables assigned in a dotenv file (comments and blank lines ignored)."""
    from dotenv import dotenv_values

    return {key: value for key, value in dotenv_values(path).items() if value is not None}


def load_env(*, environ: Mapping[str, str] | None = None, env_file: Path | None = None) -> PipelineEnv:
    """Validate the environment (plus `env_file`, which the environment overrides).

    Raises ConfigError naming each bad or missing variable.
    """
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update(read_env_file(env_file))
    values.update(os.environ if environ is None else environ)
    known = {name: value for name, value in values.items() if name in PipelineEnv.model_fields}
    try:
        # Values are passed explicitly so that the one merged mapping is what gets validated.
        env = PipelineEnv.model_validate(known)
    except ValidationError as error:
        raise ConfigError(_problems_from(error, known)) from None
    problems = _feature_problems(env)
    if problems:
        raise ConfigError(problems)
    return env


def load_env_or_exit(*, use_env_file: bool = True) -> PipelineEnv:
    """Load the environment for a settings module; on a bad value print what is wrong and exit 2."""
    try:
        return load_env(env_file=env_file_path() if use_env_file else None)
    except ConfigError as error:
        sys.stderr.write(f"data-pipeline cannot start: {error}\n")
        raise SystemExit(2) from None

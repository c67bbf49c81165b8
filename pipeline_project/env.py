"""The one typed layer between the process environment and the settings modules.

Every infrastructure variable and secret the platform reads is a field of `PipelineEnv`;
nothing else in the project reads `os.environ` for configuration. A bad value stops start-up
with the variable's name (`load_env_or_exit`), and `.env.example` documents every field (a test
keeps the two in step).
"""

from __future__ import annotations

import base64
import binascii
import importlib.util
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn
from urllib.parse import unquote, urlsplit

import dj_database_url
from pydantic import (
    Field,
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
    "SCHWAB_ENABLED": ("SCHWAB_APP_KEY", "SCHWAB_APP_SECRET", "BROKER_TOKEN_KEY"),
    "TASTYTRADE_ENABLED": ("TASTYTRADE_CLIENT_SECRET", "TASTYTRADE_REFRESH_TOKEN", "BROKER_TOKEN_KEY"),
    "GEXBOT_ENABLED": ("GEXBOT_API_KEY",),
    "UW_ENABLED": ("UW_API_TOKEN",),
    "DISCORD_ENABLED": ("DISCORD_BOT_TOKEN",),
}

# GEXBot's token format: the prefix is part of the token, not a scheme to strip.
GEXBOT_API_KEY_PREFIX = "gexbot_custom_"
SETTINGS_MODULES = "pipeline_project.settings.local, .production or .test"

Port = Annotated[int, Field(ge=1, le=65535)]
# inf would mean "never look again" and nan compares false with everything: neither is a period.
Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]
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
    # The hot store on a Redis Cluster: its seed nodes, comma-separated (empty: the hot store is REDIS_URL).
    REDIS_CLUSTER_URLS: CommaList = Field(default_factory=list)
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
    WORKER_HEARTBEAT_SECONDS: Seconds = 10.0
    WORKER_METRICS_PORT: Annotated[int, Field(ge=0, le=65535)] = 0
    PROMETHEUS_MULTIPROC_DIR: str = ""

    # Storage, logging, runtime configuration
    LAKE_DIR: Path = Path("var/lake")
    SIERRA_CHART_DIR: Path = Path("var/sierra")
    SIERRA_FILE_MODE: str = "0644"
    LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    LOG_FORMAT: Literal["console", "json"] = "console"
    RUNTIME_CONFIG_REFRESH_SECONDS: Seconds = 2.0
    TEST_REDIS_DB: Annotated[int, Field(ge=0, le=15)] = 15
    FLUSH_FAILPOINT: Literal["", "after_write", "after_rename", "after_ack"] = ""
    ALERTS_FAILPOINT: Literal["", "after_record", "after_send"] = ""

    # Broker OAuth tokens are stored encrypted with this Fernet key (comma-separated: rotation)
    BROKER_TOKEN_KEY: SecretStr = SecretStr("")

    # Outside services: off until switched on, and then their secrets are required
    SCHWAB_ENABLED: bool = False
    SCHWAB_APP_KEY: SecretStr = SecretStr("")
    SCHWAB_APP_SECRET: SecretStr = SecretStr("")
    SCHWAB_API_URL: str = "https://api.schwabapi.com"
    SCHWAB_CALLBACK_URL: str = "https://127.0.0.1:8182"
    TASTYTRADE_ENABLED: bool = False
    TASTYTRADE_CLIENT_SECRET: SecretStr = SecretStr("")
    TASTYTRADE_REFRESH_TOKEN: SecretStr = SecretStr("")
    TASTYTRADE_API_URL: str = "https://api.tastyworks.com"
    GEXBOT_ENABLED: bool = False
    GEXBOT_API_KEY: SecretStr = SecretStr("")
    GEXBOT_BASE_URL: str = "https://api.gex.bot/v2"
    UW_ENABLED: bool = False
    UW_API_TOKEN: SecretStr = SecretStr("")
    UW_SOCKET_URL: str = "wss://api.unusualwhales.com/socket"
    UW_API_URL: str = "https://api.unusualwhales.com"
    DISCORD_ENABLED: bool = False
    DISCORD_BOT_TOKEN: SecretStr = SecretStr("")
    # Trading from the bot: tastytrade's sandbox (certification) API unless TRADING_LIVE=true AND
    # the runtime setting trading.live AND the account in trading.live_accounts.
    TRADING_LIVE: bool = False
    TRADING_ACCOUNT: str = ""
    TRADING_SANDBOX_API_URL: str = "https://api.cert.tastyworks.com"

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

    @field_validator("REDIS_CLUSTER_URLS", mode="before")
    @classmethod
    def _cluster_urls(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        for number, url in enumerate(value, start=1):
            check_cluster_url(url, number=number)
        return value

    @field_validator("REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")
    @classmethod
    def _redis_db(cls, value: RedisDsn | None) -> RedisDsn | None:
        # redis-py reads a path that is not a number as database 0, without a word.
        path = unquote(value.path or "").strip("/") if value is not None else ""
        if path and not (path.isdigit() and int(path) <= 15):
            raise ValueError(f"the database number after the port must be 0-15, not {path!r}")
        return value

    @field_validator("GEXBOT_API_KEY")
    @classmethod
    def _gexbot_api_key(cls, value: SecretStr) -> SecretStr:
        # Empty is allowed here (GEXBot off); a key that is set must be one GEXBot accepts.
        if value.get_secret_value():
            check_gexbot_api_key(value.get_secret_value())
        return value

    @field_validator("BROKER_TOKEN_KEY")
    @classmethod
    def _broker_token_key(cls, value: SecretStr) -> SecretStr:
        for key in (part.strip() for part in value.get_secret_value().split(",") if part.strip()):
            try:
                decoded = base64.urlsafe_b64decode(key.encode())
            except (binascii.Error, ValueError):
                decoded = b""
            if len(decoded) != 32:
                raise ValueError(
                    "must be a Fernet key (32 url-safe base64-encoded bytes), or several comma-separated;"
                    " generate one with: python -c 'from cryptography.fernet import Fernet;"
                    " print(Fernet.generate_key().decode())'"
                )
        return value

    @field_validator("DATABASE_URL")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgres://", "postgresql://")):
            raise ValueError("must be a sqlite:/// or postgres:// URL")
        dj_database_url.parse(value)
        return value

    @field_validator("TRADING_SANDBOX_API_URL")
    @classmethod
    def _trading_sandbox_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")) or value.endswith("/"):
            raise ValueError("must be an http(s) URL without a trailing slash, e.g. https://api.cert.tastyworks.com")
        return value

    @field_validator("TASTYTRADE_API_URL")
    @classmethod
    def _tastytrade_api_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")) or value.endswith("/"):
            raise ValueError("must be an http(s) URL without a trailing slash, e.g. https://api.tastyworks.com")
        return value

    @field_validator("SCHWAB_API_URL", "SCHWAB_CALLBACK_URL")
    @classmethod
    def _schwab_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")) or value.endswith("/"):
            raise ValueError("must be an http(s) URL without a trailing slash, e.g. https://api.schwabapi.com")
        return value

    @field_validator("GEXBOT_BASE_URL")
    @classmethod
    def _gexbot_base_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")) or value.endswith("/"):
            raise ValueError("must be an http(s) URL without a trailing slash, e.g. https://api.gex.bot/v2")
        return value

    @field_validator("UW_SOCKET_URL")
    @classmethod
    def _uw_socket_url(cls, value: str) -> str:
        # The token is added as ?token=...: a URL carrying a query or a token of its own is refused.
        if not value.startswith(("wss://", "ws://")) or "?" in value or value.endswith("/"):
            raise ValueError(
                "must be a ws(s) URL without a query or trailing slash, e.g. wss://api.unusualwhales.com/socket"
            )
        return value

    @field_validator("UW_API_URL")
    @classmethod
    def _uw_api_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")) or "?" in value or value.endswith("/"):
            raise ValueError(
                "must be an http(s) URL without a query or trailing slash, e.g. https://api.unusualwhales.com"
            )
        return value

    @field_validator("SIERRA_FILE_MODE")
    @classmethod
    def _sierra_file_mode(cls, value: str) -> str:
        try:
            mode = int(value, 8)
        except ValueError:
            raise ValueError(f"must be octal permission bits such as 0644, not {value!r}") from None
        if not 0 <= mode <= 0o777:
            raise ValueError(f"must be octal permission bits from 000 to 777, not {value!r}")
        if not mode & 0o400:
            raise ValueError(f"{value!r} would leave the files unreadable to their owner (0644 is the usual choice)")
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

    @property
    def sierra_file_mode(self) -> int:
        return int(self.SIERRA_FILE_MODE, 8)


def check_cluster_url(url: str, *, number: int) -> str:
    """`url` when it names one seed node of a Redis Cluster (redis:// or rediss://, a host and a
    port, database 0 or none); ValueError otherwise. The message never quotes the URL: it may
    carry a password."""
    where = f"URL {number}"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValueError(f"{where} is not a URL with a port, e.g. redis://10.0.0.5:7000") from None
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"{where} must start with redis:// or rediss://, e.g. redis://10.0.0.5:7000")
    if not parts.hostname or port is None:
        raise ValueError(f"{where} must name a host and a port, e.g. redis://10.0.0.5:7000")
    if unquote(parts.path).strip("/") not in ("", "0"):
        raise ValueError(f"{where}: a Redis Cluster has only database 0; leave the path out")
    return url


def check_gexbot_api_key(api_key: str) -> str:
    """The key unchanged if it has GEXBot's form; ValueError saying what is wrong otherwise."""
    prefix = GEXBOT_API_KEY_PREFIX
    if not api_key:
        raise ValueError(f"is empty; GEXBot keys look like {prefix}<secret>")
    if api_key != api_key.strip() or any(character.isspace() for character in api_key):
        raise ValueError("contains whitespace (a copy-paste accident?)")
    if not api_key.startswith(prefix):
        hint = " (a research_ key only works for /research)" if api_key.startswith("research_") else ""
        raise ValueError(f"must start with {prefix!r}: the prefix is part of the token{hint}")
    if len(api_key) == len(prefix):
        raise ValueError(f"has the prefix {prefix!r} but no secret after it")
    return api_key


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
        # One line, whatever the number of problems: it is what a process prints before it exits.
        super().__init__("; ".join(str(problem) for problem in problems))


def exit_for(problems: list[ConfigProblem]) -> NoReturn:
    """Print one line per problem, no traceback, and exit 2: the process must not start."""
    for problem in problems:
        sys.stderr.write(f"data-pipeline cannot start: {problem}\n")
    sys.stderr.flush()
    raise SystemExit(2)


def env_file_path(environ: Mapping[str, str] | None = None) -> Path:
    """The env file to read: PIPELINE_ENV_FILE, which must exist when set, else ./.env if present.

    Raises ConfigError naming PIPELINE_ENV_FILE when it names nothing readable.
    """
    environ = os.environ if environ is None else environ
    chosen = environ.get("PIPELINE_ENV_FILE")
    if not chosen:
        return BASE_DIR / ".env"
    path = Path(chosen)
    if not path.exists():
        raise ConfigError([ConfigProblem("PIPELINE_ENV_FILE", f"{path}: no such file")])
    if path.is_dir():
        raise ConfigError([ConfigProblem("PIPELINE_ENV_FILE", f"{path} is a directory, not an env file")])
    return path


def settings_module_problem(name: str) -> ConfigProblem | None:
    """A problem naming DJANGO_SETTINGS_MODULE when `name` is not an importable module."""
    try:
        found = importlib.util.find_spec(name) if name else None
    except (ImportError, ValueError):  # a parent package that does not exist
        found = None
    if found is None:
        return ConfigProblem("DJANGO_SETTINGS_MODULE", f"no module named {name!r}; use {SETTINGS_MODULES}")
    return None


def is_secret(name: str) -> bool:
    return PipelineEnv.model_fields[name].annotation is SecretStr


def _without_password(value: str) -> str:
    """`value` with a URL's password and query values masked (a query may carry a token, as
    UW's `?token=` does; this module imports nothing of ours, so not apps.core.redaction); a value
    too broken to parse is not quoted if it may hold credentials."""
    try:
        parts = urlsplit(value)
        password = parts.password
    except ValueError:
        return "(not shown: it may hold a password)" if "@" in value else value
    if "=" in parts.query:
        pairs = (pair.partition("=") for pair in parts.query.split("&"))
        parts = parts._replace(query="&".join(f"{name}=***" if equals else name for name, equals, _ in pairs))
        value = parts.geturl()
    if not password:
        return value
    host = parts.netloc.rsplit("@", 1)[1]
    return parts._replace(netloc=f"{parts.username or ''}:***@{host}").geturl()


_UNQUOTED_LISTS = frozenset({"REDIS_CLUSTER_URLS"})


def _problems_from(error: ValidationError, values: Mapping[str, str]) -> list[ConfigProblem]:
    problems = []
    for item in error.errors():
        variable = str(item["loc"][0]) if item["loc"] else "environment"
        message = item["msg"]
        # A list of URLs is not quoted at all (a password may hold the comma that splits it); its
        # messages say which URL of the list is wrong.
        quoted = variable not in _UNQUOTED_LISTS
        if quoted and variable in values and variable in PipelineEnv.model_fields and not is_secret(variable):
            # A URL's password stays out of the message (REDIS_URL, DATABASE_URL carry one).
            message = f"{message} (got {_without_password(values[variable])!r})"
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
    """Variables assigned in a dotenv file (comments and blank lines ignored).

    Raises ConfigError naming the file and the line of a statement that does not parse (the line
    itself is not shown: it may hold a secret).
    """
    from dotenv import dotenv_values
    from dotenv.parser import parse_stream

    try:
        with path.open(encoding="utf-8") as stream:
            unparsed = [binding.original.line for binding in parse_stream(stream) if binding.error]
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError([ConfigProblem(str(path), f"cannot be read: {error}")]) from None
    if unparsed:
        lines = ", ".join(str(line) for line in unparsed)
        raise ConfigError(
            [ConfigProblem(f"{path} line {lines}", "does not parse: expected NAME=value, a # comment or a blank line")]
        )
    return {key: value for key, value in dotenv_values(path).items() if value is not None}


def load_env(*, environ: Mapping[str, str] | None = None, env_file: Path | None = None) -> PipelineEnv:
    """Validate the environment (plus `env_file`, which the environment overrides).

    Raises ConfigError naming each bad or missing variable.
    """
    values: dict[str, str] = {}
    if env_file is not None and env_file.exists():
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
        exit_for(error.problems)

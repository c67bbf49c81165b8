"""A wrong setting stops start-up, naming the variable and what is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_project.env import ConfigError, load_env

ROOT = Path(__file__).resolve().parents[2]


def problems(environ: dict[str, str]) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        load_env(environ=environ)
    return {problem.variable: problem.message for problem in caught.value.problems}


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("REDIS_URL", "notaurl", "valid URL"),
        ("REDIS_URL", "http://127.0.0.1:6379/0", "URL scheme should be 'redis'"),
        ("RUNTIME_CONFIG_REFRESH_SECONDS", "-1", "greater than 0"),
        ("CELERY_VISIBILITY_TIMEOUT_SECONDS", "-30", "greater than 0"),
        ("CELERY_WORKER_CONCURRENCY", "many", "valid integer"),
        ("WEB_PORT", "70000", "less than or equal to 65535"),
        ("DATABASE_URL", "mysql://db/pipeline", "sqlite:/// or postgres://"),
        ("LOG_LEVEL", "LOUD", "'DEBUG', 'INFO', 'WARNING' or 'ERROR'"),
        ("DJANGO_DEBUG", "perhaps", "valid boolean"),
        ("FLOWER_BASIC_AUTH", "nopassword", "user:password"),
    ],
)
def test_bad_value_names_the_variable(variable: str, value: str, expected: str) -> None:
    found = problems({variable: value})
    assert variable in found
    assert expected in found[variable]


def test_bad_value_message_quotes_the_value_but_never_a_secret() -> None:
    found = problems({"REDIS_URL": "notaurl", "FLOWER_BASIC_AUTH": "secretvalue"})
    assert "'notaurl'" in found["REDIS_URL"]
    assert "secretvalue" not in found["FLOWER_BASIC_AUTH"]


def test_a_bad_url_is_quoted_without_its_password() -> None:
    found = problems(
        {"REDIS_URL": "redis://:redis-pass-7731@127.0.0.1:99999/0", "DATABASE_URL": "mysql://app:db-pass-5521@db/app"}
    )
    assert "'redis://:***@127.0.0.1:99999/0'" in found["REDIS_URL"]
    assert "'mysql://app:***@db/app'" in found["DATABASE_URL"]
    assert "pass" not in "".join(found.values())


@pytest.mark.parametrize(
    ("flag", "secrets"),
    [
        ("GEXBOT_ENABLED", {"GEXBOT_API_KEY"}),
        ("SCHWAB_ENABLED", {"SCHWAB_APP_KEY", "SCHWAB_APP_SECRET"}),
        ("DISCORD_ENABLED", {"DISCORD_BOT_TOKEN"}),
    ],
)
def test_feature_switched_on_without_its_secret_is_refused(flag: str, secrets: set[str]) -> None:
    found = problems({flag: "true"})
    assert set(found) == secrets
    assert all(f"required when {flag} is on" in message for message in found.values())


def test_feature_with_its_secret_starts() -> None:
    env = load_env(environ={"GEXBOT_ENABLED": "1", "GEXBOT_API_KEY": "k"})
    assert env.GEXBOT_API_KEY.get_secret_value() == "k"


def test_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / "site.env"
    env_file.write_text("WEB_PORT=8100\nLOG_LEVEL=DEBUG\n")
    env = load_env(environ={"WEB_PORT": "8200"}, env_file=env_file)
    assert env.WEB_PORT == 8200
    assert env.LOG_LEVEL == "DEBUG"


def test_allowed_hosts_are_comma_separated() -> None:
    env = load_env(environ={"DJANGO_ALLOWED_HOSTS": "a.example, b.example"})
    assert env.DJANGO_ALLOWED_HOSTS == ["a.example", "b.example"]


def _start(args: list[str], **overrides: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.update(PIPELINE_ENV_FILE=os.devnull, **overrides)
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize(
    ("args", "overrides", "variable"),
    [
        ([sys.executable, "manage.py", "check"], {"REDIS_URL": "notaurl"}, "REDIS_URL"),
        (
            [sys.executable, "manage.py", "migrate"],
            {"RUNTIME_CONFIG_REFRESH_SECONDS": "-5"},
            "RUNTIME_CONFIG_REFRESH_SECONDS",
        ),
        (
            [sys.executable, "-m", "celery", "-A", "pipeline_project", "worker"],
            {"CELERY_WORKER_CONCURRENCY": "-1"},
            "CELERY_WORKER_CONCURRENCY",
        ),
        ([sys.executable, "-m", "celery", "-A", "pipeline_project", "beat"], {"UW_ENABLED": "true"}, "UW_API_TOKEN"),
        (
            [sys.executable, "manage.py", "check"],
            {"DJANGO_SETTINGS_MODULE": "pipeline_project.settings.production", "FLOWER_BASIC_AUTH": "a:b"},
            "DJANGO_SECRET_KEY",
        ),
    ],
)
def test_process_with_a_wrong_setting_exits_naming_the_variable(
    args: list[str], overrides: dict[str, str], variable: str
) -> None:
    result = _start(args, **overrides)
    assert result.returncode != 0
    assert f"{variable}:" in result.stderr
    assert "Traceback" not in result.stderr

"""A wrong setting stops start-up, naming the variable and what is wrong."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline_project.env import ConfigError, env_file_path, load_env

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
        # redis-py would read these as database 0 without a word.
        ("REDIS_URL", "redis://127.0.0.1:6379/abc", "database number after the port must be 0-15, not 'abc'"),
        ("REDIS_URL", "redis://127.0.0.1:6379/16", "must be 0-15"),
        ("CELERY_BROKER_URL", "redis://127.0.0.1:6379/x1", "must be 0-15, not 'x1'"),
        ("CELERY_RESULT_BACKEND", "redis://127.0.0.1:6379/-1", "must be 0-15"),
        ("RUNTIME_CONFIG_REFRESH_SECONDS", "inf", "finite number"),
        ("RUNTIME_CONFIG_REFRESH_SECONDS", "nan", "finite number"),
        ("RUNTIME_CONFIG_REFRESH_SECONDS", "0", "greater than 0"),
        ("GEXBOT_API_KEY", "sk-live-123456", "must start with 'gexbot_custom_'"),
        ("GEXBOT_API_KEY", "gexbot_custom_", "no secret after it"),
        # The token is added as ?token=: a URL with a query of its own would carry two.
        ("UW_SOCKET_URL", "wss://api.unusualwhales.com/socket?token=x", "without a query"),
        ("UW_SOCKET_URL", "https://api.unusualwhales.com/socket", "ws(s) URL"),
        ("UW_API_URL", "https://api.unusualwhales.com/", "trailing slash"),
        ("REDIS_CLUSTER_URLS", "redis://10.0.0.5:7000,http://10.0.0.6:7000", "URL 2 must start with redis://"),
        ("REDIS_CLUSTER_URLS", "redis://10.0.0.5", "URL 1 must name a host and a port"),
        ("REDIS_CLUSTER_URLS", "redis://10.0.0.5:7000/3", "only database 0"),
        ("REDIS_CLUSTER_URLS", "redis://10.0.0.5:notaport", "URL 1 is not a URL with a port"),
    ],
)
def test_bad_value_names_the_variable(variable: str, value: str, expected: str) -> None:
    found = problems({variable: value})
    assert variable in found
    assert expected in found[variable]


def test_redis_urls_with_a_database_number_or_none_are_valid() -> None:
    env = load_env(environ={"REDIS_URL": "redis://127.0.0.1:6379/3", "CELERY_BROKER_URL": "redis://127.0.0.1:6379"})
    assert (env.REDIS_URL.path, env.broker_url) == ("/3", "redis://127.0.0.1:6379/0")


def test_a_gexbot_key_in_the_wrong_form_is_never_quoted() -> None:
    found = problems({"GEXBOT_API_KEY": "sk-live-123456"})
    assert "sk-live-123456" not in found["GEXBOT_API_KEY"]


def test_bad_value_message_quotes_the_value_but_never_a_secret() -> None:
    found = problems({"REDIS_URL": "notaurl", "FLOWER_BASIC_AUTH": "secretvalue"})
    assert "'notaurl'" in found["REDIS_URL"]
    assert "secretvalue" not in found["FLOWER_BASIC_AUTH"]


def test_a_bad_url_is_quoted_without_its_query_values() -> None:
    found = problems({"UW_SOCKET_URL": "wss://api.unusualwhales.com/socket?token=uw-secret-77"})
    assert "uw-secret-77" not in found["UW_SOCKET_URL"]
    assert "?token=***" in found["UW_SOCKET_URL"]


def test_a_bad_url_is_quoted_without_its_password() -> None:
    found = problems(
        {"REDIS_URL": "redis://:redis-pass-7731@127.0.0.1:99999/0", "DATABASE_URL": "mysql://app:db-pass-5521@db/app"}
    )
    assert "'redis://:***@127.0.0.1:99999/0'" in found["REDIS_URL"]
    assert "'mysql://app:***@db/app'" in found["DATABASE_URL"]
    assert "pass" not in "".join(found.values())


def test_redis_cluster_urls_are_a_list_of_seed_nodes_and_empty_by_default() -> None:
    assert load_env(environ={}).REDIS_CLUSTER_URLS == []
    env = load_env(environ={"REDIS_CLUSTER_URLS": "redis://10.0.0.5:7000, rediss://:pw@10.0.0.6:7001/0"})
    assert env.REDIS_CLUSTER_URLS == ["redis://10.0.0.5:7000", "rediss://:pw@10.0.0.6:7001/0"]


def test_a_bad_cluster_url_is_named_by_its_place_and_no_password_is_shown() -> None:
    found = problems({"REDIS_CLUSTER_URLS": "redis://:cluster-pass-3391@10.0.0.5:7000,redis://:cluster-pass-3392@h:x"})
    assert "URL 2" in found["REDIS_CLUSTER_URLS"]
    assert "cluster-pass" not in found["REDIS_CLUSTER_URLS"]


@pytest.mark.parametrize(
    ("flag", "secrets"),
    [
        ("GEXBOT_ENABLED", {"GEXBOT_API_KEY"}),
        ("SCHWAB_ENABLED", {"SCHWAB_APP_KEY", "SCHWAB_APP_SECRET", "BROKER_TOKEN_KEY"}),
        ("DISCORD_ENABLED", {"DISCORD_BOT_TOKEN"}),
    ],
)
def test_feature_switched_on_without_its_secret_is_refused(flag: str, secrets: set[str]) -> None:
    found = problems({flag: "true"})
    assert set(found) == secrets
    assert all(f"required when {flag} is on" in message for message in found.values())


def test_feature_with_its_secret_starts() -> None:
    env = load_env(environ={"GEXBOT_ENABLED": "1", "GEXBOT_API_KEY": "gexbot_custom_k"})
    assert env.GEXBOT_API_KEY.get_secret_value() == "gexbot_custom_k"


def test_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / "site.env"
    env_file.write_text("WEB_PORT=8100\nLOG_LEVEL=DEBUG\n")
    env = load_env(environ={"WEB_PORT": "8200"}, env_file=env_file)
    assert env.WEB_PORT == 8200
    assert env.LOG_LEVEL == "DEBUG"


def test_an_env_file_line_that_does_not_parse_names_the_file_and_the_line(tmp_path: Path) -> None:
    env_file = tmp_path / "site.env"
    env_file.write_text('WEB_PORT=8100\nthis is not an assignment\nDJANGO_SECRET_KEY="unterminated\n')
    with pytest.raises(ConfigError) as caught:
        load_env(environ={}, env_file=env_file)
    assert str(caught.value) == (
        f"{env_file} line 2, 3: does not parse: expected NAME=value, a # comment or a blank line"
    )


def test_pipeline_env_file_naming_nothing_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"PIPELINE_ENV_FILE: {tmp_path}/missing.env: no such file"):
        env_file_path({"PIPELINE_ENV_FILE": str(tmp_path / "missing.env")})
    with pytest.raises(ConfigError, match=r"PIPELINE_ENV_FILE: .* is a directory"):
        env_file_path({"PIPELINE_ENV_FILE": str(tmp_path)})
    assert env_file_path({}) == ROOT / ".env"  # the default may be absent


def test_allowed_hosts_are_comma_separated() -> None:
    env = load_env(environ={"DJANGO_ALLOWED_HOSTS": "a.example, b.example"})
    assert env.DJANGO_ALLOWED_HOSTS == ["a.example", "b.example"]


def _start(args: list[str], **overrides: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.update({"PIPELINE_ENV_FILE": os.devnull, **overrides})
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


PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "pipeline_project.settings.production",
    "DJANGO_SECRET_KEY": "k9S-2vQ_xw8LrT4zN7pB1mYc6HfJ0aDgE5uVtRiOoPlKsWq3Xe",  # 50 varied characters
    "DJANGO_ALLOWED_HOSTS": "pipeline.example",
    "FLOWER_BASIC_AUTH": "ops:pass",
    "METRICS_TOKEN": "prometheus-scrape-token",
}
# Each deployment that must not start: its variables ({tmp} is a fresh directory holding `a-file`,
# an empty file, and `bad-line.env`) and what the one error line must name.
DEPLOYMENTS = {
    "production-debug": ({**PRODUCTION, "DJANGO_DEBUG": "true"}, "DJANGO_DEBUG"),
    "production-no-hosts": ({**PRODUCTION, "DJANGO_ALLOWED_HOSTS": ""}, "DJANGO_ALLOWED_HOSTS"),
    "production-short-key": ({**PRODUCTION, "DJANGO_SECRET_KEY": "short-but-set"}, "DJANGO_SECRET_KEY"),
    "production-monotonous-key": ({**PRODUCTION, "DJANGO_SECRET_KEY": "ab" * 30}, "DJANGO_SECRET_KEY"),
    "production-no-metrics-token": ({**PRODUCTION, "METRICS_TOKEN": ""}, "METRICS_TOKEN"),
    "redis-db-not-a-number": ({"REDIS_URL": "redis://127.0.0.1:6379/abc"}, "REDIS_URL"),
    "gexbot-key-form": ({"GEXBOT_API_KEY": "sk-live-123456"}, "GEXBOT_API_KEY"),
    "visibility-below-task-limit": ({"CELERY_VISIBILITY_TIMEOUT_SECONDS": "1800"}, "CELERY_VISIBILITY_TIMEOUT_SECONDS"),
    "refresh-inf": ({"RUNTIME_CONFIG_REFRESH_SECONDS": "inf"}, "RUNTIME_CONFIG_REFRESH_SECONDS"),
    "refresh-nan": ({"RUNTIME_CONFIG_REFRESH_SECONDS": "nan"}, "RUNTIME_CONFIG_REFRESH_SECONDS"),
    "lake-a-file": ({"LAKE_DIR": "{tmp}/a-file"}, "LAKE_DIR"),
    "lake-unwritable": ({"LAKE_DIR": "/proc/pipeline-lake"}, "LAKE_DIR"),  # unwritable even for root
    "sierra-a-file": ({"SIERRA_CHART_DIR": "{tmp}/a-file"}, "SIERRA_CHART_DIR"),
    "sierra-under-a-file": ({"SIERRA_CHART_DIR": "{tmp}/a-file/sierra"}, "SIERRA_CHART_DIR"),
    "sierra-mode-not-octal": ({"SIERRA_FILE_MODE": "rw-r--r--"}, "SIERRA_FILE_MODE"),
    "sierra-mode-unreadable": ({"SIERRA_FILE_MODE": "0044"}, "SIERRA_FILE_MODE"),
    "env-file-bad-line": ({"PIPELINE_ENV_FILE": "{tmp}/bad-line.env"}, "{tmp}/bad-line.env line 2"),
    "env-file-missing": ({"PIPELINE_ENV_FILE": "{tmp}/missing.env"}, "PIPELINE_ENV_FILE"),
    "sqlite-dir-missing": ({"DATABASE_URL": "sqlite:////proc/pipeline-db/db.sqlite3"}, "DATABASE_URL"),
    "sqlite-dir-a-file": ({"DATABASE_URL": "sqlite:///{tmp}/a-file/db.sqlite3"}, "DATABASE_URL"),
    "settings-module-missing": ({"DJANGO_SETTINGS_MODULE": "pipeline_project.settings.prod"}, "DJANGO_SETTINGS_MODULE"),
    "settings-package-missing": ({"DJANGO_SETTINGS_MODULE": "nowhere.settings"}, "DJANGO_SETTINGS_MODULE"),
}


def _assert_refused(result: subprocess.CompletedProcess[str], named: str) -> None:
    naming = [line for line in result.stderr.splitlines() if named in line]
    assert result.returncode != 0, result.stdout
    assert len(naming) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_a_good_production_deployment_passes_check() -> None:
    # The cases below fail for the reason they name, not for a production setting they all lack.
    result = _start([sys.executable, "manage.py", "check"], **PRODUCTION)
    assert result.returncode == 0, result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("command", ["check", "config check"])
@pytest.mark.parametrize("case", sorted(DEPLOYMENTS))
def test_a_bad_deployment_is_refused_by_check_and_config_check_in_one_line(
    case: str, command: str, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("")
    (tmp_path / "bad-line.env").write_text("WEB_PORT=8100\nnot an assignment\n")
    overrides, named = DEPLOYMENTS[case]
    overrides = {key: value.replace("{tmp}", str(tmp_path)) for key, value in overrides.items()}
    # Settings local (production where the case says so) and the suite's Redis.
    result = _start([sys.executable, "manage.py", *command.split()], **overrides)
    _assert_refused(result, named.replace("{tmp}", str(tmp_path)))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"LAKE_DIR": "/proc/pipeline-lake"}, "LAKE_DIR"),
        ({"SIERRA_CHART_DIR": "/etc/hostname"}, "SIERRA_CHART_DIR"),
        ({"CELERY_VISIBILITY_TIMEOUT_SECONDS": "60"}, "CELERY_VISIBILITY_TIMEOUT_SECONDS"),
    ],
)
def test_a_worker_with_a_bad_deployment_never_reaches_ready(overrides: dict[str, str], named: str) -> None:
    worker = [sys.executable, "-m", "celery", "-A", "pipeline_project", "worker", "-P", "solo", "-Q", "h12-none"]
    result = _start(worker, **overrides)
    _assert_refused(result, named)
    assert f"data-pipeline cannot start: {named}: " in result.stderr
    assert "ready" not in result.stdout + result.stderr


@pytest.mark.slow
def test_the_web_process_refuses_a_bad_deployment_in_one_line() -> None:
    web = [sys.executable, "-m", "uvicorn", "pipeline_project.asgi:application", "--port", "0"]
    result = _start(web, LAKE_DIR="/etc/hostname")
    _assert_refused(result, "LAKE_DIR")
    assert "data-pipeline cannot start: LAKE_DIR: /etc/hostname is a file, not a directory" in result.stderr

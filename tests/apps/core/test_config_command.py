"""`manage.py config show|check|diff` as an operator runs it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apps.core.config_report import config_diff

ROOT = Path(__file__).resolve().parents[3]


def run_config(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "config", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_show_masks_secrets_and_names_sources(process_env: dict[str, str], tmp_path: Path) -> None:
    env_file = tmp_path / "site.env"
    env_file.write_text("GEXBOT_ENABLED=true\nGEXBOT_API_KEY=gexbot_custom_live-123456\nWEB_PORT=8100\n")
    env = {
        **process_env,
        "DJANGO_SETTINGS_MODULE": "pipeline_project.settings.local",  # the test settings ignore env files
        "PIPELINE_ENV_FILE": str(env_file),
        "DJANGO_SECRET_KEY": "very-secret-key",
    }
    result = run_config("show", env=env)
    assert result.returncode == 0, result.stderr
    assert "live-123456" not in result.stdout
    assert "very-secret-key" not in result.stdout
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert "********" in lines["GEXBOT_API_KEY"]
    assert str(env_file) in lines["GEXBOT_API_KEY"]
    assert "8100" in lines["WEB_PORT"]
    assert "environment" in lines["DJANGO_SECRET_KEY"]
    assert "default" in lines["LOG_FORMAT"]
    assert "core.log_level" in result.stdout


def test_diff_against_defaults_lists_only_what_differs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_PORT", "9000")
    monkeypatch.setenv("DISCORD_BOT_TOKEN", "token-value")
    rows = {row.variable: row for row in config_diff(env_file=Path(os.devnull))}
    assert rows["WEB_PORT"].left == "8000"
    assert rows["WEB_PORT"].right == "9000"
    assert rows["DISCORD_BOT_TOKEN"].left == "(empty)"
    assert rows["DISCORD_BOT_TOKEN"].right == "********"
    assert "LOG_FORMAT" not in rows


def test_show_and_diff_mask_the_passwords_inside_urls(process_env: dict[str, str]) -> None:
    # A password in REDIS_URL (this Redis needs none and accepts any given without an ACL user)
    # and one in a PostgreSQL DATABASE_URL: diff needs no connection to either.
    redis_url = process_env["REDIS_URL"].replace("redis://", "redis://:redis-pass-7731@", 1)
    env = {**process_env, "REDIS_URL": redis_url, "DATABASE_URL": "postgres://app:db-pass-5521@db.invalid:5432/app"}
    diff = run_config("diff", env=env)
    assert diff.returncode == 0, diff.stderr
    assert "redis://:***@" in diff.stdout
    assert "postgres://app:***@db.invalid:5432/app" in diff.stdout
    env["DATABASE_URL"] = process_env["DATABASE_URL"]
    show = run_config("show", env=env)
    assert show.returncode == 0, show.stderr
    assert "redis://:***@" in show.stdout
    for output in (diff.stdout + diff.stderr, show.stdout + show.stderr):
        assert "redis-pass-7731" not in output
        assert "db-pass-5521" not in output


def test_diff_against_another_env_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    production = tmp_path / "production.env"
    production.write_text("LOG_FORMAT=json\nWEB_PORT=9000\n")
    monkeypatch.setenv("WEB_PORT", "9000")
    rows = {row.variable: row for row in config_diff(against=production, env_file=Path(os.devnull))}
    assert rows["LOG_FORMAT"].left == "json"
    assert rows["LOG_FORMAT"].right == "console"
    assert "WEB_PORT" not in rows


def test_diff_against_a_bad_file_names_the_variable(tmp_path: Path) -> None:
    bad = tmp_path / "bad.env"
    bad.write_text("REDIS_URL=notaurl\n")
    with pytest.raises(CommandError, match="REDIS_URL"):
        call_command("config", "diff", "--against", str(bad))


def test_diff_against_a_missing_file() -> None:
    with pytest.raises(CommandError, match="no such file"):
        call_command("config", "diff", "--against", "/nonexistent.env")


@pytest.mark.django_db
def test_check_passes_on_a_migrated_database(capsys: pytest.CaptureFixture[str]) -> None:
    call_command("config", "check")
    out = capsys.readouterr().out
    assert "ok  redis" in out
    assert "ok  database" in out
    assert "ok  system checks" in out


@pytest.mark.django_db
def test_check_fails_naming_an_unwritable_lake(
    settings: pytest.FixtureRequest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    settings.LAKE_DIR = blocker / "lake"
    with pytest.raises(CommandError, match="LAKE_DIR"):
        call_command("config", "check")
    assert f"FAIL  LAKE_DIR: {blocker}" in capsys.readouterr().out


@pytest.mark.django_db
def test_check_warns_about_unknown_variables_in_the_env_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("REDIS_ULR=redis://typo\n")
    monkeypatch.setenv("PIPELINE_ENV_FILE", str(env_file))
    call_command("config", "check")
    assert "REDIS_ULR is not a data-pipeline variable" in capsys.readouterr().out

"""`manage.py run_bot` refuses to start without its switch or its token, naming the variable;
`make run` starts it when DISCORD_ENABLED is on."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import CommandError, call_command
from pydantic import SecretStr

from apps.core.platform import platform_processes


def test_run_bot_without_the_switch_names_it(settings: Any) -> None:
    settings.ENV = settings.ENV.model_copy(update={"DISCORD_ENABLED": False})
    with pytest.raises(CommandError, match="DISCORD_ENABLED"):
        call_command("run_bot", metrics_port=0)


def test_run_bot_without_the_token_names_it(settings: Any) -> None:
    settings.ENV = settings.ENV.model_copy(update={"DISCORD_ENABLED": True, "DISCORD_BOT_TOKEN": SecretStr("")})
    with pytest.raises(CommandError, match="DISCORD_BOT_TOKEN"):
        call_command("run_bot", metrics_port=0)


def test_the_environment_refuses_the_switch_without_the_token() -> None:
    """Every process (run_bot included) loads the environment first: it stops naming the token."""
    import os

    from pipeline_project.env import ConfigError, load_env

    environ = {**os.environ, "DISCORD_ENABLED": "true", "DISCORD_BOT_TOKEN": ""}
    with pytest.raises(ConfigError) as caught:
        load_env(environ=environ)
    assert [problem.variable for problem in caught.value.problems] == ["DISCORD_BOT_TOKEN"]


def test_make_run_starts_the_bot_once_it_is_switched_on(settings: Any) -> None:
    def names(enabled: bool) -> list[str]:
        env = settings.ENV.model_copy(update={"DISCORD_ENABLED": enabled})
        return [spec.name for spec in platform_processes(env=env, web_port=8000, flower_port=5555)]

    assert "bot" not in names(False)
    assert "bot" in names(True)

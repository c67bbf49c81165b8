"""Reads for `manage.py config`: the effective environment, where each value came from, how it
differs from the defaults or from another env file, and whether the platform can start with it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core import checks
from django.db import DatabaseError
from django.db.migrations.executor import MigrationExecutor
from pydantic import SecretStr

from apps.core.health import readiness_checks
from apps.core.redaction import url_without_password
from apps.core.runtime_settings import RuntimeSettingError, spec_for
from pipeline_project.env import PipelineEnv, env_file_path, load_env, read_env_file

MASK = "********"


@dataclass(frozen=True)
class ConfigRow:
    variable: str
    value: str
    source: str


@dataclass(frozen=True)
class DiffRow:
    variable: str
    left: str
    right: str


@dataclass(frozen=True)
class CheckLine:
    name: str
    ok: bool
    detail: str
    warning: bool = False


def display(value: Any) -> str:
    """`value` as `config` prints it: secrets masked, and so is the password of any URL
    (REDIS_URL and DATABASE_URL carry theirs inside)."""
    if isinstance(value, SecretStr):
        return MASK if value.get_secret_value() else "(empty)"
    if isinstance(value, list):
        return ",".join(url_without_password(str(item)) for item in value)
    if value is None:
        return "(unset)"
    return url_without_password(str(value))


def _defaults() -> PipelineEnv:
    return PipelineEnv.model_validate({})


def config_rows(*, env_file: Path | None = None) -> list[ConfigRow]:
    """Every variable with its effective value (secrets masked) and its source."""
    env_file = env_file or env_file_path()
    from_file = read_env_file(env_file) if env_file.is_file() else {}
    env = load_env(env_file=env_file)
    rows = []
    for name in PipelineEnv.model_fields:
        if name in os.environ:
            source = "environment"
        elif name in from_file:
            source = str(env_file)
        else:
            source = "default"
        rows.append(ConfigRow(name, display(getattr(env, name)), source))
    return rows


def config_diff(*, against: Path | None = None, env_file: Path | None = None) -> list[DiffRow]:
    """Variables whose effective value differs from the defaults, or from the values an
    `against` env file alone would give. Secrets are compared, never shown."""
    current = load_env(env_file=env_file or env_file_path())
    other = load_env(environ={}, env_file=against) if against is not None else _defaults()
    rows = []
    for name in PipelineEnv.model_fields:
        left, right = getattr(other, name), getattr(current, name)
        if left != right:
            rows.append(DiffRow(name, display(left), display(right)))
    return rows


def _system_checks() -> list[CheckLine]:
    # The very checks `manage.py check` runs (apps/core/startup_checks.py among them), so either
    # command is enough to know whether the platform will start.
    messages = checks.run_checks()
    lines = [
        CheckLine(
            str(message.obj or message.id), not message.is_serious(), message.msg, warning=not message.is_serious()
        )
        for message in messages
    ]
    errors = sum(1 for message in messages if message.is_serious())
    if not errors:
        lines.append(
            CheckLine("system checks", True, "all pass (as `manage.py check`), LAKE_DIR and SIERRA_CHART_DIR writable")
        )
    return lines


def _migrations() -> CheckLine:
    from django.db import connection

    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as error:
        return CheckLine("migrations", False, f"cannot read migration state: {error}")
    if pending:
        return CheckLine("migrations", False, f"{len(pending)} unapplied: run `python manage.py migrate`")
    return CheckLine("migrations", True, "all applied")


def _runtime_settings() -> list[CheckLine]:
    from apps.core.models import RuntimeSetting

    lines = []
    try:
        stored = list(RuntimeSetting.objects.values_list("key", "value"))
    except DatabaseError as error:
        return [CheckLine("runtime settings", False, f"cannot read: {error}")]
    for key, value in stored:
        try:
            spec_for(key).validate(value)
        except RuntimeSettingError as error:
            lines.append(CheckLine(f"runtime setting {key}", False, error.message))
    return lines or [CheckLine("runtime settings", True, f"{len(stored)} valid")]


def _unknown_variables(env_file: Path) -> list[CheckLine]:
    if not env_file.is_file():
        return []
    unknown = sorted(set(read_env_file(env_file)) - set(PipelineEnv.model_fields))
    return [
        CheckLine(f"{env_file}", True, f"{name} is not a data-pipeline variable (typo?)", warning=True)
        for name in unknown
    ]


def config_check(*, env_file: Path | None = None) -> list[CheckLine]:
    """Everything start-up needs beyond valid variables (which settings already enforced): the
    system checks every process runs at start, then Redis, the database and its migrations."""
    lines = [CheckLine("environment", True, "every variable valid")]
    lines += _unknown_variables(env_file or env_file_path())
    lines += _system_checks()
    lines += [CheckLine(check.name, check.ok, check.detail) for check in readiness_checks()]
    database_ok = all(line.ok for line in lines if line.name == "database")
    if database_ok:
        lines.append(_migrations())
        lines += _runtime_settings()
    return lines

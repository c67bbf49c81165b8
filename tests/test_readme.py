"""The README's lists stay true: its table of processes is what `make run` starts, every
`manage.py` line it shows names a command that exists and parses as written, and every `make`
target it names is in the Makefile."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import get_commands, load_command_class

from apps.core.platform import platform_processes

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _process_table() -> dict[str, str]:
    """`| name | `command` | role |` rows of the table under "What runs where"."""
    section = README.split("## What runs where", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\w+) +\| `([^`]+)` \|", section, flags=re.M)
    return dict(rows)


def _normalized(command: list[str]) -> list[str]:
    """A process's argv as a person types it: `python -m celery` is `celery`, the venv's
    interpreter is `python`."""
    words = ["python" if word == sys.executable else word for word in command]
    if words[:3] == ["python", "-m", "celery"]:
        words = ["celery", *words[3:]]
    return words


def test_the_process_table_is_what_make_run_starts() -> None:
    documented = _process_table()
    started = {
        spec.name: _normalized(spec.command)
        for spec in platform_processes(env=settings.ENV, web_port=8000, flower_port=5555)
    }
    assert set(documented) == set(started)
    for name, command in documented.items():
        words = shlex.split(command)
        assert started[name][: len(words)] == words, name


def _manage_lines() -> list[str]:
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", README, flags=re.S):
        for line in block.splitlines():
            before_comment = line.split("  #", 1)[0]
            match = re.search(r"manage\.py (.+)$", before_comment)
            if match:
                lines.append(match.group(1).strip())
    return lines


@pytest.mark.parametrize("line", _manage_lines())
def test_every_manage_command_in_the_readme_exists_and_parses(line: str) -> None:
    name, *args = shlex.split(line)
    commands = get_commands()
    assert name in commands, f"README shows `manage.py {name}`, which is not a command"
    command = load_command_class(commands[name], name)
    # A CommandParser that is not called from the command line raises instead of exiting.
    command.create_parser("manage.py", name).parse_args(args)


def test_every_make_target_in_the_readme_exists() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, flags=re.M))
    named = set(re.findall(r"`make (\w+)`", README)) | set(re.findall(r"^make (\w+)", README, flags=re.M))
    assert named
    assert named <= targets, named - targets


def test_the_runtime_settings_table_is_every_registered_setting_with_its_default() -> None:
    import json

    from apps.core.runtime_settings import all_specs

    table = README.split("<!-- runtime-settings -->", 1)[1].split("<!-- /runtime-settings -->", 1)[0]
    rows = {}
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells[1].strip("`")
    specs = {spec.key: spec for spec in all_specs()}
    assert sorted(rows) == sorted(specs), "the README's table must list exactly the registered settings"
    for key, default in rows.items():
        spec = specs[key]
        assert json.loads(default) == spec.to_json(spec.default), f"{key}: README says {default}"

"""`.env.example` documents every variable the platform reads, with its real default."""

from __future__ import annotations

import re
from pathlib import Path

from apps.core.config_report import display
from pipeline_project.env import PipelineEnv

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = re.compile(r"^#?\s*([A-Z][A-Z0-9_]+)=(.*)$")
# Variables that belong to other programs and are only passed through.
FOREIGN = {"DJANGO_SETTINGS_MODULE", "PIPELINE_ENV_FILE"}
ENV_READ = re.compile(r"""(?:os\.environ(?:\.get|\.setdefault)?\(?\[?|os\.getenv\()\s*["']([A-Z][A-Z0-9_]+)["']""")


def documented() -> dict[str, str]:
    found = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        match = ASSIGNMENT.match(line.strip())
        if match:
            found[match.group(1)] = match.group(2).strip()
    return found


def test_every_variable_is_documented_with_its_default() -> None:
    docs = documented()
    defaults = PipelineEnv.model_validate({})
    missing = sorted(set(PipelineEnv.model_fields) - set(docs))
    assert not missing, f".env.example does not document {missing}"
    for name in PipelineEnv.model_fields:
        default = display(getattr(defaults, name))
        expected = "" if default in {"(empty)", "(unset)"} else default
        assert docs[name] == expected.replace("False", "false"), (
            f"{name}: .env.example says {docs[name]!r}, code default is {expected!r}"
        )


def test_every_documented_variable_exists() -> None:
    unknown = sorted(set(documented()) - set(PipelineEnv.model_fields) - FOREIGN)
    assert not unknown, f".env.example documents variables nothing reads: {unknown}"


def test_every_variable_read_from_the_environment_is_documented() -> None:
    docs = set(documented())
    undocumented = {}
    for path in [
        *ROOT.glob("pipeline_project/**/*.py"),
        *ROOT.glob("apps/**/*.py"),
        *ROOT.glob("streamers/**/*.py"),
        *ROOT.glob("bot/**/*.py"),
    ]:
        for name in ENV_READ.findall(path.read_text()):
            if name not in docs:
                undocumented[name] = str(path.relative_to(ROOT))
    assert not undocumented, f"read but not in .env.example: {undocumented}"

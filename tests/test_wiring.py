"""Data flows one way: apps never import the processes (streamers, bot) or the doors."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_apps_do_not_import_streamers_or_bot() -> None:
    # The processes' own commands live in their apps (`streamers/management/`), so no exemption.
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name for name in imported_modules(path) if name.split(".")[0] in {"streamers", "bot"}
        )
        for path in ROOT.glob("apps/**/*.py")
    }
    assert not {path: names for path, names in offenders.items() if names}


def test_core_does_not_import_other_apps() -> None:
    offenders = {}
    for path in ROOT.glob("apps/core/**/*.py"):
        names = [
            name for name in imported_modules(path) if name.startswith("apps.") and not name.startswith("apps.core")
        ]
        if names:
            offenders[str(path.relative_to(ROOT))] = names
    assert not offenders


def test_the_apps_know_every_streamer_the_registry_can_start() -> None:
    """Apps may not import `streamers`: the streamers app registers its venues' names with
    marketdata when Django starts, so the names exist once."""
    from apps.marketdata.streamer_names import streamer_names
    from streamers.registry import VENUES

    assert streamer_names() == tuple(VENUES)
    assert streamer_names() == ("simulator", "replay")

"""The import rules of docs/architecture.md, checked on every module (no exemptions):

- core imports no other app of ours;
- storage imports core and marketdata only, and never a domain app: domains register with it;
- accounts imports core only;
- batch (the job runner) imports core, marketdata and storage only: domain apps register their
  job kinds with it, it never imports them;
- brokers (the token store) imports core only;
- the streamers import core, marketdata, storage and brokers, and the domains whose feeds they
  carry (uw, gex);
- a domain app imports no door;
- no door imports another door;
- no app imports the processes (`streamers`, `bot`): they register with the apps instead;
- every layer may read the typed environment, `pipeline_project.env`, and the metric catalogue,
  `apps.monitoring.metrics`: both import nothing of ours; no app imports the rest of
  `pipeline_project` (the wiring);
- monitoring is a domain app: it imports core and the apps whose health it checks, no door;
  doors (the web's /health and /metrics) import it.

Data flows one way: feed → streamer → streams → flush → lake → selectors → doors.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

DOORS = {"apps.api", "apps.realtime", "apps.dashboard", "bot"}
PROCESSES = {"streamers", "bot"}
ENVIRONMENT = "pipeline_project.env"
CATALOGUE = "apps.monitoring.metrics"
# Modules every layer may import: each imports nothing of ours (tested below).
SHARED = {ENVIRONMENT, CATALOGUE}
# What each layer may import of ours, besides itself.
ALLOWED = {
    "apps.core": set(),
    "apps.accounts": {"apps.core"},
    # Broker tokens: encrypted storage and refresh; the broker streamers use them.
    "apps.brokers": {"apps.core"},
    "apps.marketdata": {"apps.core"},
    "apps.storage": {"apps.core", "apps.marketdata"},
    # A domain app: the core, the market-data schema and the lake's registry; no other domain.
    "apps.uw": {"apps.core", "apps.marketdata", "apps.storage"},
    "apps.batch": {"apps.core", "apps.marketdata", "apps.storage"},
    # The streamer processes write through marketdata; replay reads a stored day and the
    # trimmer the retention windows through storage; the broker feeds sign in with the tokens
    # of apps.brokers. The UW venue writes its feed through the domains it carries: UW events
    # (apps.uw) and UW's gamma exposure as a GEX source (apps.gex). No door.
    "streamers": {"apps.core", "apps.marketdata", "apps.storage", "apps.brokers", "apps.uw", "apps.gex"},
    # A domain app: the sources it evaluates (market data, GEX, Unusual Whales) and storage's
    # exactly-once reader and lake; it registers nothing anyone below it imports.
    "apps.alerts": {"apps.core", "apps.marketdata", "apps.storage", "apps.gex", "apps.uw"},
    # A domain app: orders at the broker, checked against market data (the last trade) and the
    # broker logins; no door (the bot and the API call it), no other domain.
    "apps.trading": {"apps.core", "apps.marketdata", "apps.brokers"},
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from apps.monitoring import metrics` imports the catalogue, not the whole app.
            shared = {f"{node.module}.{alias.name}" for alias in node.names} & SHARED
            names |= shared if len(shared) == len(node.names) else {node.module}
    return names


def package_of(module: str) -> str | None:
    """`apps.gex.services.imports` → `apps.gex`; `bot.cogs.gex` → `bot`; None if not ours."""
    if module in SHARED:
        return None
    parts = module.split(".")
    if parts[0] == "apps" and len(parts) > 1:
        return ".".join(parts[:2])
    if parts[0] in {"streamers", "bot", "pipeline_project"}:
        return parts[0]
    return None


def modules_of(package: str) -> list[Path]:
    return sorted(path for path in ROOT.joinpath(*package.split(".")).glob("**/*.py") if "migrations" not in path.parts)


def ours_imported_by(package: str) -> dict[str, set[str]]:
    """For each module of `package`, the packages of ours it imports (itself excluded)."""
    found = {}
    for path in modules_of(package):
        packages = {package_of(name) for name in imported_modules(path)} - {None, package}
        found[str(path.relative_to(ROOT))] = {name for name in packages if name}
    return found


def apps_packages() -> list[str]:
    return sorted(f"apps.{path.name}" for path in (ROOT / "apps").iterdir() if (path / "apps.py").is_file())


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_lower_layers_import_only_what_is_below_them(package: str) -> None:
    offenders = {
        path: sorted(names - ALLOWED[package])
        for path, names in ours_imported_by(package).items()
        if names - ALLOWED[package]
    }
    assert not offenders


@pytest.mark.parametrize("package", [name for name in apps_packages() if name not in DOORS])
def test_domain_apps_import_no_door_and_no_process(package: str) -> None:
    forbidden = DOORS | PROCESSES | {"pipeline_project"}
    offenders = {
        path: sorted(names & forbidden) for path, names in ours_imported_by(package).items() if names & forbidden
    }
    assert not offenders


@pytest.mark.parametrize("door", sorted(DOORS))
def test_no_door_imports_another_door(door: str) -> None:
    forbidden = (DOORS | PROCESSES) - {door}
    offenders = {path: sorted(names & forbidden) for path, names in ours_imported_by(door).items() if names & forbidden}
    assert not offenders


@pytest.mark.parametrize("module", sorted(SHARED))
def test_the_shared_modules_import_nothing_of_ours(module: str) -> None:
    path = ROOT.joinpath(*module.split(".")).with_suffix(".py")
    assert not {package_of(name) for name in imported_modules(path)} - {None}


def test_the_rules_cover_every_app() -> None:
    """A new app must be placed: a lower layer, a domain or a door."""
    assert {"apps.core", "apps.accounts", "apps.brokers", "apps.marketdata", "apps.storage"} <= set(apps_packages())
    assert {"apps.api", "apps.realtime", "apps.dashboard"} <= set(apps_packages())
    assert "apps.monitoring" in set(apps_packages()) - DOORS  # a domain app
    assert (ROOT / "bot" / "apps.py").is_file()
    assert (ROOT / "streamers" / "apps.py").is_file()


def test_the_apps_know_every_streamer_the_registry_can_start() -> None:
    """Apps may not import `streamers`: the streamers app registers its venues' names with
    marketdata when Django starts, so the names exist once."""
    from apps.marketdata.streamer_names import streamer_names
    from streamers.registry import VENUES

    assert streamer_names() == tuple(VENUES)

"""The metric catalogue: every series defined once, in one module, with bounded labels."""

from __future__ import annotations

import ast
from collections import Counter as Tally
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from apps.monitoring import metrics
from apps.monitoring.collectors import collectors

ROOT = Path(__file__).resolve().parents[3]
CATALOGUE = ROOT / "apps" / "monitoring" / "metrics.py"
DEFINERS = {
    "Counter",
    "Gauge",
    "Histogram",
    "Summary",
    "Info",
    "Enum",
    "GaugeMetricFamily",
    "CounterMetricFamily",
    "HistogramMetricFamily",
}


def _instrument_names() -> list[str]:
    return [instrument._name for instrument in metrics.instruments()]


def test_every_series_is_defined_once() -> None:
    names = _instrument_names() + [series.name for series in metrics.scraped()]
    # A Counter's `_name` drops `_total`; compare what Prometheus stores.
    stored = [name.removesuffix("_total") for name in names]
    assert [name for name, count in Tally(stored).items() if count > 1] == []
    assert all(name.startswith("pipeline_") for name in names)


def test_the_instruments_are_the_ones_the_process_registers() -> None:
    registered = {name for name in REGISTRY._names_to_collectors}
    for instrument in metrics.instruments():
        assert instrument._name in registered or f"{instrument._name}_total" in registered


def test_every_label_is_a_bounded_one_the_catalogue_names() -> None:
    labels = {label for instrument in metrics.instruments() for label in instrument._labelnames}
    labels |= {label for series in metrics.scraped() for label in series.labels}
    assert labels - set(metrics.LABELS) == set()
    # No label can carry free text from a request or a client.
    assert not labels & {"user", "token", "path", "url", "client", "message", "error", "query", "ip"}


def _definitions_outside_the_catalogue() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for folder in ("apps", "streamers", "bot", "pipeline_project"):
        for path in ROOT.joinpath(folder).glob("**/*.py"):
            if path == CATALOGUE or "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text())
            imported = {
                alias.asname or alias.name
                for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("prometheus_client")
                for alias in node.names
            }
            calls = [
                node.func.id
                for node in ast.walk(tree)
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in imported
            ]
            if set(calls) & DEFINERS:
                found[str(path.relative_to(ROOT))] = sorted(set(calls) & DEFINERS)
    return found


def test_no_module_outside_the_catalogue_defines_a_metric() -> None:
    assert _definitions_outside_the_catalogue() == {}


def test_the_catalogue_imports_nothing_of_ours() -> None:
    """So every layer, the streamer processes included, may import it."""
    tree = ast.parse(CATALOGUE.read_text())
    modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    modules |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert {name for name in modules if name.split(".")[0] in {"apps", "streamers", "bot", "pipeline_project"}} == set()


@pytest.mark.django_db
def test_each_collector_yields_exactly_the_catalogue_series_it_describes_and_every_one_has_a_collector() -> None:
    """A scraped series of the catalogue that no collector fills would be a name with nothing
    behind it; a collector yielding a family it does not describe would be defined outside."""
    described: list[str] = []
    for collector in collectors():
        names = [family.name for family in collector.describe()]
        assert sorted(family.name for family in collector.collect()) == sorted(names), type(collector).__name__
        described += names
    assert sorted(described) == sorted(series.name for series in metrics.scraped())

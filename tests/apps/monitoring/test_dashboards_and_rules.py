"""Every Grafana panel query and every Prometheus alert rule names only series the code defines:
the names are read from this process's metrics registry (the catalogue's instruments, the
web's collectors, django-prometheus), never from a copy. The dashboards are in the form Grafana's
file provisioning loads unchanged."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from django_prometheus.middleware import Metrics
from prometheus_client import REGISTRY

from apps.monitoring.collectors import collectors_register

ROOT = Path(__file__).resolve().parents[3]
DASHBOARDS = sorted((ROOT / "deploy" / "grafana" / "dashboards").glob("*.json"))
RULES = ROOT / "deploy" / "prometheus" / "rules.yml"
# Series Prometheus itself records for every target.
PROMETHEUS_SERIES = {"up", "scrape_duration_seconds"}
KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "inf",
    "nan",
}
EXPECTED_DASHBOARDS = {
    "Overview",
    "Feeds",
    "Hot store and flush",
    "Lake",
    "Celery",
    "GEX",
    "Alerts and trading",
    "WebSockets and API",
}


def series_in(expr: str) -> set[str]:
    """The metric names a PromQL expression reads."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)  # label lists
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", text):
        name, call = match.group(1), match.group(2)
        if call or name.lower() in KEYWORDS:
            continue
        names.add(name)
    return names


def defined_series() -> set[str]:
    collectors_register()  # the web process's collectors, as pipeline_project/urls.py registers them
    Metrics.get_instance()  # django-prometheus's, as its middleware registers them in the web
    return set(REGISTRY._names_to_collectors) | PROMETHEUS_SERIES


def test_the_parser_finds_names_and_skips_functions_labels_and_keywords() -> None:
    expr = 'histogram_quantile(0.99, sum by (topic, le) (rate(pipeline_ws_send_latency_seconds_bucket{topic="x"}[5m])))'
    assert series_in(expr) == {"pipeline_ws_send_latency_seconds_bucket"}
    assert series_in("a_total > 60 and on (feed) b == 1 or absent(c)") == {"a_total", "b", "c"}
    assert series_in("time() - last_ok") == {"last_ok"}


def test_the_registry_holds_the_web_s_series_and_not_an_unknown_one() -> None:
    names = defined_series()
    assert {"pipeline_hot_stream_length", "pipeline_celery_tasks_total", "pipeline_streamer_connected"} <= names
    assert "pipeline_no_such_series" not in names


def _panel_queries() -> list[tuple[str, str, str]]:
    found = []
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        for panel in board["panels"]:
            found += [(path.name, panel["title"], target["expr"]) for target in panel.get("targets", [])]
    return found


def test_there_is_a_dashboard_for_every_flow_and_each_loads_as_grafana_provisions_it() -> None:
    titles = set()
    uids = set()
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        assert board["title"].startswith("data-pipeline: ")
        titles.add(board["title"].removeprefix("data-pipeline: "))
        uids.add(board["uid"])
        assert "id" not in board  # provisioning assigns it; a fixed id collides between instances
        assert board["panels"]
        for panel in board["panels"]:
            assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}
            assert panel["targets"]
            assert {"h", "w", "x", "y"} <= set(panel["gridPos"])
    assert titles == EXPECTED_DASHBOARDS
    assert len(uids) == len(DASHBOARDS)
    datasources = yaml.safe_load((ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    assert [source["uid"] for source in datasources["datasources"]] == ["prometheus"]


@pytest.mark.parametrize(("dashboard", "panel", "expr"), _panel_queries(), ids=lambda value: str(value)[:60])
def test_every_panel_query_names_only_defined_series(dashboard: str, panel: str, expr: str) -> None:
    names = series_in(expr)
    assert names, expr
    assert names - defined_series() == set(), (dashboard, panel)


def _rules() -> list[tuple[str, str]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [(rule["alert"], rule["expr"]) for group in groups for rule in group["rules"]]


@pytest.mark.parametrize(("alert", "expr"), _rules(), ids=lambda value: str(value)[:40])
def test_every_alert_rule_names_only_defined_series(alert: str, expr: str) -> None:
    names = series_in(expr)
    assert names, expr
    assert names - defined_series() == set(), alert


def test_every_alert_rule_has_a_runbook_and_a_unit_test() -> None:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    tests = yaml.safe_load((ROOT / "deploy/prometheus/tests/rules_test.yml").read_text())["tests"]
    tested: dict[str, list[bool]] = {}
    for case in tests:
        for check in case["alert_rule_test"]:
            tested.setdefault(check["alertname"], []).append(bool(check["exp_alerts"]))
    for group in groups:
        for rule in group["rules"]:
            assert rule["annotations"]["runbook"].strip(), rule["alert"]
            assert sorted(tested.get(rule["alert"], [])) == [False, True], rule["alert"]  # fires once, silent once

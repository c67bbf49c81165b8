"""Control endpoints: staff only, each call audited, each action done by the existing services."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.accounts.models import ControlAction
from apps.core import keys
from apps.core.models import RuntimeSetting
from apps.core.redis import get_redis
from apps.storage.models import PurgeRun
from tests.apps.api.conftest import Caller
from tests.apps.api.helpers import CONTROL_ENDPOINTS

pytestmark = pytest.mark.django_db


def test_a_non_staff_caller_is_refused_every_control_action_and_each_refusal_is_audited(reader: Caller) -> None:
    for _, path, params in CONTROL_ENDPOINTS:
        response = reader.post(path, params)
        assert response.status_code == 403, (path, response.content)
    denied = ControlAction.objects.filter(outcome=ControlAction.Outcome.DENIED)
    assert sorted(row.action for row in denied) == sorted(
        ["streamer.start", "streamer.stop", "streamer.resubscribe", "flush", "purge"]
    )
    assert {(row.user_id, row.token_id) for row in denied} == {(reader.user.pk, reader.token.pk)}
    assert not RuntimeSetting.objects.filter(key="marketdata.disabled_streamers", value=["simulator"]).exists()
    assert get_redis().xlen(keys.streamer_control("simulator")) == 0
    assert PurgeRun.objects.count() == 0


def test_stop_and_start_switch_the_streamer_through_the_runtime_setting(staff: Caller) -> None:
    stopped = staff.post("/api/control/streamers/simulator/stop")
    assert stopped.status_code == 200
    assert stopped.json() == {
        "streamer": "simulator",
        "action": "stop",
        "enabled": False,
        "disabled_streamers": ["simulator"],
        "request_id": None,
    }
    assert RuntimeSetting.objects.get(key="marketdata.disabled_streamers").value == ["simulator"]
    streamers = {row["name"]: row for row in staff.get("/api/status/streamers").json()}
    assert streamers["simulator"]["enabled"] is False

    started = staff.post("/api/control/streamers/simulator/start")
    assert started.json()["disabled_streamers"] == []
    assert RuntimeSetting.objects.get(key="marketdata.disabled_streamers").value == []
    audit = list(ControlAction.objects.order_by("created", "pk"))
    assert [(row.action, row.outcome, row.params) for row in audit] == [
        ("streamer.stop", "ok", {"name": "simulator"}),
        ("streamer.start", "ok", {"name": "simulator"}),
    ]
    assert audit[0].user == staff.user
    assert audit[0].token == staff.token
    assert audit[0].detail["disabled_streamers"] == ["simulator"]


def test_an_unknown_streamer_is_404_and_audited_as_failed(staff: Caller) -> None:
    response = staff.post("/api/control/streamers/bloomberg/stop")
    assert response.status_code == 404
    assert "unknown streamer 'bloomberg'" in response.json()["detail"]
    assert staff.post("/api/control/streamers/Bad Name/stop").status_code in (404, 422)
    row = ControlAction.objects.get(params={"name": "bloomberg"})
    assert row.outcome == ControlAction.Outcome.FAILED
    assert "unknown streamer" in row.detail["error"]


def test_resubscribe_leaves_a_request_the_streamer_reads(staff: Caller) -> None:
    response = staff.post("/api/control/streamers/simulator/resubscribe")
    assert response.status_code == 200
    entries = get_redis().xrange(keys.streamer_control("simulator"))
    assert [entry_id.decode() for entry_id, _ in entries] == [response.json()["request_id"]]
    assert entries[0][1][b"action"] == b"resubscribe"
    assert entries[0][1][b"requested_by"] == b"operator"


def test_flush_queues_the_flush_task_on_its_queue(staff: Caller) -> None:
    response = staff.post("/api/control/flush")
    assert response.status_code == 200
    task_id = response.json()["task_id"]
    depths = {row["queue"]: row["depth"] for row in staff.get("/api/status/queues").json()}
    assert depths["flush"] == 1
    assert depths["default"] == 0
    assert ControlAction.objects.get(action="flush").detail == {"task_id": task_id}


def test_purge_plans_by_default_and_only_removes_when_asked(staff: Caller, lake: Path) -> None:
    old = lake / "tick_data" / "date=2020-01-02" / "symbol=ESZ26"
    old.mkdir(parents=True)
    (old / "a.parquet").write_bytes(b"x" * 10)
    body = {"before": "2021-01-01", "data_type": "trades"}
    planned = staff.post("/api/control/purge", body)
    assert planned.status_code == 200, planned.content
    assert planned.json()["dry_run"] is True
    assert planned.json()["plan"]["files"] == [
        {"path": "tick_data/date=2020-01-02/symbol=ESZ26/a.parquet", "bytes": 10}
    ]
    assert (old / "a.parquet").exists()

    done = staff.post("/api/control/purge", {**body, "dry_run": False})
    assert done.json()["status"] == "done"
    assert done.json()["bytes_freed"] == 10
    assert not (old / "a.parquet").exists()
    runs = list(PurgeRun.objects.order_by("started_at", "pk"))
    assert [(run.dry_run, run.user) for run in runs] == [(True, staff.user), (False, staff.user)]
    assert [row.params for row in ControlAction.objects.filter(action="purge").order_by("pk")] == [
        {"dry_run": True, "data_type": "trades", "before": "2021-01-01"},
        {"dry_run": False, "data_type": "trades", "before": "2021-01-01"},
    ]
    assert staff.post("/api/control/purge", {"before": "not a date"}).status_code == 422

"""Control endpoints (staff only): every call leaves a ControlAction audit row, denied or not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Path, Router

from apps.accounts.services import control_perform
from apps.api import render
from apps.api.auth import request_caller
from apps.api.inputs import json_object_check
from apps.api.schemas import STAFF_ONLY, PurgeIn, PurgeOut, StreamerControlOut, TaskOut
from apps.marketdata.services.streamer_control import streamer_enable, streamer_resubscribe_request
from apps.storage.flush_requests import flush_enqueue
from apps.storage.retention import purge_run

router = Router(tags=["control"])
StreamerName = Annotated[
    str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="simulator, replay, schwab, tastytrade, uw, ...")
]


def _control(
    request: HttpRequest, *, action: str, params: dict[str, Any], perform: Callable[[], dict[str, Any]]
) -> Any:
    """The one service of every control endpoint: the audit around the action it performs."""
    caller = request_caller(request)
    return control_perform(user=caller.user, token=caller.token, action=action, params=params, perform=perform)


@router.post(
    "/control/streamers/{name}/start", response={200: StreamerControlOut, **STAFF_ONLY}, summary="Switch a streamer on"
)
def streamer_start(request: HttpRequest, name: StreamerName) -> Any:
    def perform() -> dict[str, Any]:
        return {"action": "start", **streamer_enable(name=name, enabled=True, actor=request_caller(request).user)}

    return _control(request, action="streamer.start", params={"name": name}, perform=perform)


@router.post(
    "/control/streamers/{name}/stop", response={200: StreamerControlOut, **STAFF_ONLY}, summary="Switch a streamer off"
)
def streamer_stop(request: HttpRequest, name: StreamerName) -> Any:
    def perform() -> dict[str, Any]:
        return {"action": "stop", **streamer_enable(name=name, enabled=False, actor=request_caller(request).user)}

    return _control(request, action="streamer.stop", params={"name": name}, perform=perform)


@router.post(
    "/control/streamers/{name}/resubscribe",
    response={200: StreamerControlOut, **STAFF_ONLY},
    summary="Ask a running streamer to subscribe to all its symbols again",
)
def streamer_resubscribe(request: HttpRequest, name: StreamerName) -> Any:
    def perform() -> dict[str, Any]:
        requested_by = str(request_caller(request).user)
        return {"action": "resubscribe", **streamer_resubscribe_request(name=name, requested_by=requested_by)}

    return _control(request, action="streamer.resubscribe", params={"name": name}, perform=perform)


@router.post(
    "/control/flush", response={200: TaskOut, **STAFF_ONLY}, summary="Queue a flush of the hot streams to the lake"
)
def flush(request: HttpRequest) -> Any:
    return _control(request, action="flush", params={}, perform=flush_enqueue)


@router.post(
    "/control/purge", response={200: PurgeOut, **STAFF_ONLY}, summary="Plan (dry run) or carry out a retention purge"
)
def purge(request: HttpRequest, body: PurgeIn) -> Any:
    json_object_check(request)
    user = request_caller(request).user

    def perform() -> dict[str, Any]:
        run = purge_run(
            dry_run=body.dry_run,
            data_type=body.data_type.value if body.data_type else None,
            before=body.before,
            user=user,
            triggered_by=f"api:{user}",
        )
        return render.purge_run(run)

    return _control(request, action="purge", params=body.model_dump(mode="json"), perform=perform)

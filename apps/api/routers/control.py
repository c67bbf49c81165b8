"""Control endpoints (staff only): every call leaves a ControlAction audit row, denied or not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Path, Router
from ninja.errors import HttpError

from apps.api import services
from apps.api.auth import request_caller
from apps.api.inputs import json_object_check
from apps.api.schemas import STAFF_ONLY, PurgeIn, PurgeOut, StreamerControlOut, TaskOut
from apps.api.selectors import streamer_known
from apps.core import keys
from apps.core.exceptions import BadInputError

router = Router(tags=["control"])
StreamerName = Annotated[
    str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="simulator, replay, schwab, tastytrade, uw, ...")
]


def _control(
    request: HttpRequest, *, action: str, params: dict[str, Any], perform: Callable[[], dict[str, Any]]
) -> Any:
    caller = request_caller(request)
    return services.control_perform(user=caller.user, token=caller.token, action=action, params=params, perform=perform)


def _known(name: StreamerName) -> str:
    try:
        keys.streamer(name)
    except ValueError as error:
        raise BadInputError("name", str(error), where="path") from None
    if not streamer_known(name=name):
        raise HttpError(404, f"unknown streamer {name!r}")
    return name


@router.post(
    "/control/streamers/{name}/start", response={200: StreamerControlOut, **STAFF_ONLY}, summary="Switch a streamer on"
)
def streamer_start(request: HttpRequest, name: StreamerName) -> Any:
    def perform() -> dict[str, Any]:
        result = services.streamer_enable(name=_known(name), enabled=True, actor=request_caller(request).user)
        return {"action": "start", **result}

    return _control(request, action="streamer.start", params={"name": name}, perform=perform)


@router.post(
    "/control/streamers/{name}/stop", response={200: StreamerControlOut, **STAFF_ONLY}, summary="Switch a streamer off"
)
def streamer_stop(request: HttpRequest, name: StreamerName) -> Any:
    def perform() -> dict[str, Any]:
        result = services.streamer_enable(name=_known(name), enabled=False, actor=request_caller(request).user)
        return {"action": "stop", **result}

    return _control(request, action="streamer.stop", params={"name": name}, perform=perform)


@router.post(
    "/control/streamers/{name}/resubscribe",
    response={200: StreamerControlOut, **STAFF_ONLY},
    summary="Ask a running streamer to subscribe to all its symbols again",
)
def streamer_resubscribe(request: HttpRequest, name: StreamerName) -> Any:
    def perform() -> dict[str, Any]:
        result = services.streamer_resubscribe_request(
            name=_known(name), requested_by=str(request_caller(request).user)
        )
        return {"action": "resubscribe", **result}

    return _control(request, action="streamer.resubscribe", params={"name": name}, perform=perform)


@router.post(
    "/control/flush", response={200: TaskOut, **STAFF_ONLY}, summary="Queue a flush of the hot streams to the lake"
)
def flush(request: HttpRequest) -> Any:
    return _control(request, action="flush", params={}, perform=services.flush_enqueue)


@router.post(
    "/control/purge", response={200: PurgeOut, **STAFF_ONLY}, summary="Plan (dry run) or carry out a retention purge"
)
def purge(request: HttpRequest, body: PurgeIn) -> Any:
    json_object_check(request)

    def perform() -> dict[str, Any]:
        return services.purge_run(
            dry_run=body.dry_run,
            data_type=body.data_type.value if body.data_type else None,
            before=body.before,
            user=request_caller(request).user,
        )

    return _control(request, action="purge", params=body.model_dump(mode="json"), perform=perform)

"""Replay sandboxes: which exist and how each stands (its clock, progress, ETA, lifetime)."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Path, Router

from apps.api.schemas import ERRORS, NOT_FOUND, ReplayOut
from apps.marketdata.replays import ReplayState, replay_require, replays_list

router = Router(tags=["replays"])
ReplayId = Annotated[
    str,
    Path(
        pattern=r"^[a-z0-9][a-z0-9-]{0,47}$",
        description="The replay's id, as run_streamer replay printed it (1 to 48 of a-z, 0-9, '-')",
    ),
]


def _replay(state: ReplayState) -> dict[str, Any]:
    return {
        "replay": state.replay_id,
        "source": state.source,
        "symbols": state.symbols,
        "speed": state.speed,
        "state": state.state,
        "paused": state.paused,
        "clock": state.clock,
        "done": state.done,
        "total": state.total,
        "eta_seconds": state.eta_seconds,
        "created_at": state.created_at,
        "updated_at": state.updated_at,
        "expire_seconds": state.expire_seconds,
        "ttl_seconds": state.ttl_seconds,
    }


@router.get("/replays", response={200: list[ReplayOut], **ERRORS}, summary="Every replay sandbox, oldest first")
def replays(request: HttpRequest) -> list[dict[str, Any]]:
    return [_replay(state) for state in replays_list()]


@router.get("/replays/{replay_id}", response={200: ReplayOut, **NOT_FOUND}, summary="One replay: clock, progress, ETA")
def replay(request: HttpRequest, replay_id: ReplayId) -> dict[str, Any]:
    return _replay(replay_require(replay_id=replay_id, field="replay_id"))

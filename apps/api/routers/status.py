from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from apps.api import render
from apps.api.schemas import ERRORS, AlertOut, AlertsQuery, FlushStatusOut, QueueDepthOut, StreamerStatusOut
from apps.core.fired_alerts import alerts_recent
from apps.core.queue_depths import queue_depths
from apps.marketdata.streamer_status import streamers_status_list
from apps.storage.selectors import flush_status_list

router = Router(tags=["status"])


@router.get("/status/streamers", response={200: list[StreamerStatusOut], **ERRORS}, summary="Every streamer's state")
def status_streamers(request: HttpRequest) -> list[dict[str, object]]:
    return [render.streamer(state) for state in streamers_status_list()]


@router.get("/status/flush", response={200: list[FlushStatusOut], **ERRORS}, summary="Where each stream's flush stands")
def status_flush(request: HttpRequest) -> list[dict[str, object]]:
    return [render.flush_status(status) for status in flush_status_list()]


@router.get("/status/queues", response={200: list[QueueDepthOut], **ERRORS}, summary="Tasks waiting per Celery queue")
def status_queues(request: HttpRequest) -> list[dict[str, object]]:
    return [{"queue": queue, "depth": depth} for queue, depth in queue_depths()]


@router.get("/alerts/recent", response={200: list[AlertOut], **ERRORS}, summary="The last alerts fired, newest first")
def alerts(request: HttpRequest, query: Query[AlertsQuery]) -> list[dict[str, object]]:
    return [render.alert(entry) for entry in alerts_recent(count=query.count)]

"""Django's HTTP request cycle under ASGI in one hop to a pooled thread.

Django's own `ASGIHandler` spends more CPU around a request than our whole sync request cycle
does (docs/benchmarks.md, "REST under concurrent clients"): each request gets a
`ThreadSensitiveContext`, that is a new thread; the `request_started` signal, the middleware
chain and `response.close()` (the `request_finished` signal) each hop to that thread and back;
and a task listening for the client's disconnect runs beside the one answering. Every view and
middleware of ours is sync, so the whole cycle runs in one thread anyway.

`PooledThreadASGIHandler` is Django's handler with its sync request cycle — the same middleware
chain, in the same order, loaded as `WSGIHandler` loads it — run in one call to a bounded pool
of long-lived threads: read the body (on the event loop, as Django does), then in one thread
`request_started`, the request, the middleware and the view, and for an answer that is already
bytes (every JSON answer) `close()` (`request_finished`), then send the bytes from the loop. The
request object, the answers, the signals and their order around the view are Django's; only the
thread they run on differs. A streaming answer from a sync iterator (the bars export, static
files) is read to the end in the same thread, as Django's handler reads it (`list()` of the
iterator in a thread), and then sent; an async one is sent from the loop, as Django sends it,
and closed after.

A pool, not a thread per request: threads (and their database connections, kept
`CONN_MAX_AGE`) are reused, and at most THREADS requests run at once; the others wait on the
event loop, where they cost nothing. A lake read holds its thread while DuckDB works with the
GIL released, so the pool is larger than the cores.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse, HttpResponseBase, StreamingHttpResponse
from django.urls import set_script_prefix

THREADS = 16


async def _parts(parts: list[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


class PooledThreadASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        base.BaseHandler.__init__(self)  # not ASGIHandler's: its middleware chain is the async one
        self.load_middleware(is_async=False)
        self.executor = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="web-request")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        try:
            response, closed = await loop.run_in_executor(self.executor, context.run, self._respond, scope, body_file)
        except BaseException:
            body_file.close()
            raise
        try:
            await self.send_response(response, send)
        finally:
            if not closed:
                await loop.run_in_executor(self.executor, context.run, response.close)
            body_file.close()

    def _respond(self, scope: dict[str, Any], body_file: Any) -> tuple[HttpResponseBase, bool]:
        """Django's request cycle, in this pool thread; whether the response is closed already."""
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        response: HttpResponseBase
        if request is None:
            response = cast(HttpResponseBase, error_response)  # a 400 or 413 when there is no request
        else:
            response = self.get_response(request)
            response._handler_class = self.__class__  # type: ignore[attr-defined]
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size
        if isinstance(response, StreamingHttpResponse):
            if response.is_async:
                return response, False
            response.streaming_content = _parts(list(cast(Iterator[bytes], response.streaming_content)))
        response.close()
        return response, True

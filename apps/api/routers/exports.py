"""Bar exports: bars of any interval with GEX columns and volume by aggressor side, streamed as
CSV or Parquet (the same bytes `manage.py jobs run export_bars` writes to a file)."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.http import HttpRequest, StreamingHttpResponse
from ninja import Field, Query, Router, Schema
from pydantic import AwareDatetime

from apps.api.inputs import symbol_resolve, time_range
from apps.api.schemas import NOT_FOUND, SYMBOL, instant
from apps.batch.gex_join import INTERVAL_US, bars_export, default_ticker
from apps.core.exceptions import NotFoundError

router = Router(tags=["bars"])

ExportInterval = StrEnum("ExportInterval", {name: name for name in INTERVAL_US})  # type: ignore[misc]
# A month of one-second bars is ~2.6M rows: still a stream, never a whole file in memory.
MAX_EXPORT_RANGE = timedelta(days=31)
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "parquet": "application/vnd.apache.parquet"}


class ExportFormat(StrEnum):
    CSV = "csv"
    PARQUET = "parquet"


class BarsExportQuery(Schema):
    symbol: str = SYMBOL
    interval: ExportInterval = ExportInterval("1m")
    format: ExportFormat = ExportFormat.CSV
    start: AwareDatetime | None = instant("Default: one day before end.")
    end: AwareDatetime | None = instant("Default: now. At most 31 days after start; a longer range is cut.")
    ticker: str | None = Field(
        None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$", description="GEXBot ticker; default ES_SPX / NQ_NDX"
    )
    package: str = Field("classic", pattern=r"^(classic|state)$")
    category: str = Field("gex_full", pattern=r"^[a-z][a-z0-9_]{0,31}$")


@router.get(
    "/bars/export",
    response={200: None, **NOT_FOUND},
    summary="Bars with GEX levels and buy/sell volume, streamed as CSV or Parquet",
)
def bars_export_stream(request: HttpRequest, query: Query[BarsExportQuery]) -> StreamingHttpResponse:
    start, end = time_range(query.start, query.end, default=timedelta(days=1), limit=MAX_EXPORT_RANGE)
    symbol = symbol_resolve(query.symbol, at=end)
    # A symbol without a GEX ticker (an equity) gets bars with empty GEX columns.
    ticker = query.ticker.upper() if query.ticker else default_ticker(symbol)
    interval = str(query.interval.value)
    stream = bars_export(
        lake=settings.LAKE_DIR, symbol=symbol, start=start, end=end, interval=interval, ticker=ticker,
        fmt=query.format.value, package=query.package, category=query.category,
    )  # fmt: skip
    if stream is None:
        raise NotFoundError(f"no trades of {symbol} from {start.isoformat()} to {end.isoformat()}")
    name = f"bars-{symbol}-{interval}-{start:%Y%m%dT%H%M%S}-{end:%Y%m%dT%H%M%S}.{query.format.value}"
    response = StreamingHttpResponse(stream, content_type=CONTENT_TYPES[query.format.value])
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response

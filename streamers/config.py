"""How the runner runs, whatever the venue: batching, reconnects, metrics, status, trimming.

A venue's own options (a URL, a seed, a file to replay) are in its own frozen config
(`streamers/<venue>/config.py`); these are the ones every streamer process shares.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from apps.core.clock import utc_now
from apps.marketdata.symbols import SymbolError, canonical

SPILL_DIR = Path(__file__).resolve().parent.parent / "var" / "spill"


class StreamerConfigError(ValueError):
    """An option that cannot work, named as on the command line (`--rate`, `--date`): the
    command shows it as it is, without a traceback."""


@dataclass(frozen=True)
class RunnerConfig:
    name: str
    # A write starts as soon as events arrive and no write is under way (group commit: what
    # arrives during a write goes out together right after it), with at most batch_size events
    # per write. batch_interval is the safety net that retries what an outage left buffered.
    batch_size: int = 2000
    batch_interval: float = 0.05
    # Under load (events arrived while a write waited on the sink) the next write waits up to
    # this long for a full batch: at most this much latency, and only when the feed is busy.
    batch_linger: float = 0.002
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    status_interval: float = 1.0
    trim_interval: float = 30.0
    # Symbols from the command line instead of the runtime setting marketdata.symbols.
    fixed_symbols: tuple[str, ...] | None = None
    # A runtime setting holding the venue's subscriptions as they are (UW's channels), read
    # instead of marketdata.symbols; with it, fixed_symbols are such subscriptions too.
    subscription_setting: str | None = None
    # The venue's own symbol list in the runtime settings, used when it is not empty.
    symbols_setting: str | None = None
    record_path: Path | None = None
    # Where batches the sink refuses are kept for a replay (see streamers/batching.py).
    spill_dir: Path = SPILL_DIR

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise StreamerConfigError(f"--batch-size must be at least 1, not {self.batch_size}")
        # Checked here, not at the first runtime read inside the event loop, so a bad symbol is a
        # one-line refusal of the command rather than a traceback. (The form does not depend on
        # the day: `at` only picks an alias's contract, which the runner resolves again anyway.)
        for symbol in () if self.subscription_setting else self.fixed_symbols or ():
            try:
                canonical(symbol, at=utc_now())
            except SymbolError as error:
                raise StreamerConfigError(f"--symbols: {error}") from None

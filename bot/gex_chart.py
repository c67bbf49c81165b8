"""The GEX profile by strike as a PNG (matplotlib's Agg backend: no display, safe in a thread)."""

from __future__ import annotations

import io
from itertools import pairwise

import matplotlib

matplotlib.use("Agg")
from matplotlib.figure import Figure

from apps.gex.snapshots import GEXSnapshot


def profile_bars(snapshot: GEXSnapshot) -> list[tuple[float, float]]:
    """(strike, GEX by volume) for each strike with a value, in strike order: what the chart draws."""
    return sorted((row.strike, row.gex_vol) for row in snapshot.strikes if row.gex_vol is not None)


def profile_png(snapshot: GEXSnapshot) -> bytes:
    """A bar per strike (green positive, red negative), the spot and zero gamma as lines."""
    bars = profile_bars(snapshot)
    figure = Figure(figsize=(9, 4.5), dpi=100)
    axes = figure.add_subplot()
    if bars:
        strikes, values = zip(*bars, strict=True)
        width = min((b - a for a, b in pairwise(strikes)), default=1.0) * 0.8
        colours = ["#2e7d32" if value >= 0 else "#c62828" for value in values]
        axes.bar(strikes, values, width=width, color=colours)
    axes.axvline(snapshot.spot, color="#1565c0", linewidth=1.2, label=f"spot {snapshot.spot:g}")
    if snapshot.zero_gamma is not None:
        axes.axvline(snapshot.zero_gamma, color="#f9a825", linestyle="--", label=f"zero gamma {snapshot.zero_gamma:g}")
    axes.axhline(0, color="#616161", linewidth=0.6)
    axes.set_title(f"{snapshot.ticker} {snapshot.category} GEX by strike ({snapshot.source})")
    axes.set_xlabel("strike")
    axes.set_ylabel(f"GEX ({snapshot.units})")
    axes.legend(loc="upper left")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()

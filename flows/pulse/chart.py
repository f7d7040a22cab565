"""The quarterly trend chart: component means over a team's released polls, one line per component (PNG,
drawn by flows/core/chart.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flows.content.instruments import Instrument
from flows.core.chart import Axis, Series, render_lines


def render_trend(
    instrument: Instrument,
    labels: Sequence[str],
    means: Mapping[str, Sequence[float | None]],
    title: str,
) -> bytes:
    """Draw `means[component id]` (one value per poll, in `labels` order) as a PNG, in memory (the caller
    stores it with the poll)."""
    series = [
        Series(component.name, means[component.id])
        for component in instrument.components
        if component.id in means
    ]
    axis = Axis(
        f"mean ({instrument.scale_min}–{instrument.scale_max})",
        instrument.scale_min - 0.2,
        instrument.scale_max + 0.2,
    )
    return render_lines(labels, series, title, axis)

"""The quarterly trend chart: component means over a team's released polls, one line per component (PNG)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from flows.content.instruments import Instrument


def chart_dir() -> Path:
    """Where chart files go: $TANDEM_CHART_DIR, else a `tandem-charts` folder in the temp directory."""
    configured = os.environ.get("TANDEM_CHART_DIR")
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "tandem-charts"


def render_trend(
    path: Path,
    instrument: Instrument,
    labels: Sequence[str],
    means: Mapping[str, Sequence[float | None]],
    title: str,
) -> Path:
    """Draw `means[component id]` (one value per poll, in `labels` order) and save a PNG at `path`.
    The PNG's Description names the series, so a reader without the image knows what it shows."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(figsize=(7.5, 4.2), dpi=100)
    series = []
    for component in instrument.components:
        values = means.get(component.id)
        if values is None:
            continue
        xs = [i for i, v in enumerate(values) if v is not None]
        ys = [v for v in values if v is not None]
        axes.plot(xs, ys, marker="o", label=component.name)
        series.append(component.name)
    axes.set_xticks(range(len(labels)), list(labels))
    axes.set_ylim(instrument.scale_min - 0.2, instrument.scale_max + 0.2)
    axes.set_ylabel(f"mean ({instrument.scale_min}–{instrument.scale_max})")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower left", fontsize="small")
    figure.tight_layout()
    figure.savefig(
        path, format="png", metadata={"Title": title, "Description": "Series: " + "; ".join(series)}
    )
    plt.close(figure)
    return path

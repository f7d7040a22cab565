"""Small line charts as PNG, drawn in memory for chat cards (the pulse trend, the check-in trend).

The PNG is small on purpose (640×340, a fixed palette, usually 6–20 KB) so that a chat platform can
carry it inside the message itself: Teams shows it as a `data:` URI in an Adaptive Card, whose whole
payload must stay under about 25 KB.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image as PILImage

# matplotlib and Pillow are imported on the first chart, not at start-up: they are a third of the time
# `tandem` takes to start (about 0.6 s of 2 s), and most processes never draw a chart.

GREYS = 12  # palette steps from black to white, for text, axes, grid and anti-aliased edges


@dataclass(frozen=True)
class Axis:
    label: str
    low: float
    high: float


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]  # one per label; None: no point there
    right: bool = False  # drawn against the right-hand axis


def render_lines(
    labels: Sequence[str],
    series: Sequence[Series],
    title: str,
    left: Axis,
    right: Axis | None = None,
) -> bytes:
    """Draw each series over `labels` as a PNG. The PNG's Description names the series, so a reader
    without the image knows what it shows."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgb
    from PIL import Image as PILImage
    from PIL.PngImagePlugin import PngInfo

    figure, axes = plt.subplots(figsize=(6.4, 3.4), dpi=100)
    other = axes.twinx() if right is not None else None
    colours: list[tuple[float, float, float]] = []
    handles = []
    for n, one in enumerate(series):
        target = other if (one.right and other is not None) else axes
        xs = [i for i, v in enumerate(one.values) if v is not None]
        ys = [v for v in one.values if v is not None]
        colour = f"C{n}"
        [line] = target.plot(xs, ys, marker="o", markersize=4, linewidth=1.5, label=one.name, color=colour)
        handles.append(line)
        colours.append(to_rgb(line.get_color()))
    many = len(labels) > 6
    axes.set_xticks(range(len(labels)), list(labels), fontsize="small", rotation=30 if many else 0)
    axes.set_ylim(left.low, left.high)
    axes.set_ylabel(left.label, fontsize="small")
    axes.tick_params(axis="y", labelsize="small")
    if other is not None and right is not None:
        other.set_ylim(right.low, right.high)
        other.set_ylabel(right.label, fontsize="small")
        other.tick_params(axis="y", labelsize="small")
    axes.set_title(title, fontsize="medium")
    axes.grid(alpha=0.3)
    axes.legend(handles=handles, loc="lower left", fontsize="x-small")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    buffer.seek(0)
    with PILImage.open(buffer) as drawn:
        small = drawn.convert("RGB").quantize(palette=_palette(colours), dither=PILImage.Dither.NONE)
    info = PngInfo()
    info.add_text("Title", title)
    info.add_text("Description", "Series: " + "; ".join(s.name for s in series))
    png = io.BytesIO()
    small.save(png, format="PNG", optimize=True, pnginfo=info)
    return png.getvalue()


def _palette(colours: Sequence[tuple[float, float, float]]) -> PILImage.Image:
    """A fixed palette: each line's colour at full strength and blended halfway and mostly to white (its
    anti-aliased edges, the legend), and greys. Every series keeps its exact colour, unlike an adaptive
    palette, which merges similar hues when there are many lines; the file stays several times smaller
    than full colour."""
    from PIL import Image as PILImage

    entries: list[tuple[int, int, int]] = []
    for colour in colours:
        for keep in (1.0, 0.5, 0.2):
            r, g, b = (round(255 - 255 * (1 - c) * keep) for c in colour)
            entries.append((r, g, b))
    entries += [(v, v, v) for v in (round(255 * i / (GREYS - 1)) for i in range(GREYS))]
    flat = [c for entry in entries for c in entry]
    image = PILImage.new("P", (1, 1))
    image.putpalette(flat + flat[-3:] * (256 - len(entries)))
    return image

"""What keeps the report's figures readable with many variants and a diverging one.

- **Styles**: 17 variants are more than any palette tells apart, so each variant gets a
  colour of ``tab10`` and, from the eleventh on, a dashed line and another marker: no two
  share both. Sorted by name, so a variant keeps its look across figures and reports.
- **Robust limits**: one variant that diverges (a loss of 100 where the others sit at 3)
  squashes every other line into the bottom pixel row. The axis is cut to the range the
  groups share, leaving out a group's extreme only when it is an outlier among the groups'
  extremes, and what is cut is marked, never silently dropped.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import matplotlib

matplotlib.use("Agg")  # headless: no display on CI or servers

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

from results.tables.numbers import number  # noqa: E402

DPI = 110
MAX_WIDTH = 11.5  # inches: 1,265 pixels at DPI, inside a 1,400-pixel window with margins
_DASHES = ["-", "--", ":"]
_MARKERS = ["o", "s", "^"]


@dataclass(frozen=True)
class Style:
    """How one variant is drawn: as ``plot(color=, linestyle=, marker=)`` takes them."""

    color: tuple[float, float, float]
    linestyle: str
    marker: str


def variant_styles(variants: Iterable[str]) -> dict[str, Style]:
    """A style per variant, in name order: ten colours, then the same colours dashed."""
    colours = plt.get_cmap("tab10").colors
    names = sorted(set(map(str, variants)))
    return {
        name: Style(tuple(colours[i % 10]), _DASHES[(i // 10) % 3], _MARKERS[(i // 10) % 3])
        for i, name in enumerate(names)
    }


def robust_limits(
    groups: Iterable[np.ndarray],
    log: bool = False,
    include: Iterable[float] = (),
    cut: str = "both",
    fence: float = 3.0,
) -> tuple[float, float] | None:
    """Axis limits that show every group whole except where a group's maximum (minimum) is
    an outlier among the groups' maxima (minima): beyond Tukey's "far out" fence, ``fence``
    times their interquartile range past the quartile, on a log scale when ``log``, and
    more than the shared range's own span past it (cutting less would gain little). Only
    the sides named by ``cut`` ("above", "below", "both") are cut: where the spread on one
    side is the finding (a vanishing gradient), that side stays whole. The values in
    ``include`` (a chance line) are always inside. None when there is nothing to show."""
    tops, bottoms = [], []
    for values in groups:
        v = np.asarray(values, dtype=float)
        v = v[np.isfinite(v) & (v > 0)] if log else v[np.isfinite(v)]
        if len(v):
            tops.append(v.max())
            bottoms.append(v.min())
    if not tops:
        return None
    scale = np.log10 if log else (lambda x: np.asarray(x, dtype=float))
    top, bottom = scale(np.array(tops)), scale(np.array(bottoms))
    high, low = top.max(), bottom.min()
    if cut in ("above", "both"):
        q1, q3 = np.percentile(top, [25, 75])
        high = top[top <= q3 + fence * (q3 - q1)].max()
    if cut in ("below", "both"):
        q1, q3 = np.percentile(bottom, [25, 75])
        low = bottom[bottom >= q1 - fence * (q3 - q1)].min()
    extra = [float(x) for x in include if np.isfinite(x) and (x > 0 or not log)]
    if extra:
        high, low = max(high, scale(max(extra))), min(low, scale(min(extra)))
    # a cut is worth it only where it saves much: extremes that would at most double the
    # span (a gradient's early spike) are shown whole after all
    span = high - low
    high = max(high, top[top <= high + span].max(initial=high))
    low = min(low, bottom[bottom >= low - span].min(initial=low))
    pad = 0.05 * (high - low) if high > low else (0.1 if log else 0.05 * abs(high) or 0.5)
    low, high = low - pad, high + pad
    return (10**low, 10**high) if log else (float(low), float(high))


def off_scale(values: np.ndarray, limits: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the values above and below ``limits`` (NaN is neither)."""
    v = np.asarray(values, dtype=float)
    with np.errstate(invalid="ignore"):
        return v > limits[1], v < limits[0]


def note_off_scale(
    ax: plt.Axes, clipped: dict[str, tuple[float, str]], styles: dict[str, Style]
) -> None:
    """Name, inside the panel's top right corner (where a falling curve has left), each
    variant with values off the axis and its most extreme one (``clipped``: variant ->
    (value, "above" or "below")), in its colour: the reader sees that something is cut
    and what."""
    for k, (variant, (value, where)) in enumerate(sorted(clipped.items())):
        arrow = "↑" if where == "above" else "↓"
        ax.text(
            0.98,
            0.97 - 0.09 * k,
            f"{arrow} {variant} off scale ({number(value)})",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=7,
            color=styles[variant].color if variant in styles else "k",
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1},
        )


def log_axis(ax: plt.Axes) -> None:
    """A log value axis labelled so that labels stay narrow: at powers of ten over a wide
    range, at 1, 2 and 5 times them in plain digits (``0.2``, ``5``) over a narrow one,
    where no power of ten may fall inside. Call once the limits are set. Minor labels such
    as ``6×10⁻¹`` are wider than the gap to the next panel, and overlapped it."""
    ax.set_yscale("log")
    low, high = ax.get_ylim()
    if np.log10(high / low) >= 2.5:
        ax.yaxis.set_major_locator(LogLocator(base=10, numticks=6))
    else:
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(NullFormatter())


def thousands(ax: plt.Axes, axis: str = "y") -> None:
    """Tick labels with thousands separators instead of an offset or an exponent."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))


def legend_of(figure: plt.Figure, styles: dict[str, Style], names: Iterable[str]) -> None:
    """One legend for the whole figure, right of its panels, a line per variant."""
    shown = [n for n in styles if n in set(names)]
    handles = [
        plt.Line2D(
            [],
            [],
            color=styles[n].color,
            linestyle=styles[n].linestyle,
            marker=styles[n].marker,
            markersize=3.5,
        )
        for n in shown
    ]
    figure.legend(
        handles,
        shown,
        loc="center left",
        bbox_to_anchor=(1.0, 0.5),
        frameon=False,
        fontsize=8,
        title="variant",
        title_fontsize=8,
    )


def save(figure: plt.Figure, path: Path) -> Path:
    """Write the PNG (tight, fixed dpi) and free the figure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(figure)
    return path


Drawing = TypeVar("Drawing", bound=Callable[..., Any])


def same_jitter(draw: Drawing) -> Drawing:
    """Seaborn's strip plots jitter their points with numpy's global generator: seeded
    here, and given back as it was, so a figure is the same whatever was drawn or
    computed before it."""

    @functools.wraps(draw)
    def drawn(*args: Any, **kwargs: Any) -> Any:
        state = np.random.get_state()
        np.random.seed(0)
        try:
            return draw(*args, **kwargs)
        finally:
            np.random.set_state(state)

    return drawn  # type: ignore[return-value]

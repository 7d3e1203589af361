"""Charts for the HTML report, drawn as inline SVG strings.

The SVG is written by hand rather than with matplotlib or a JavaScript charting library. The
report has to open offline as a single file, so it can't use a CDN or a script. Each chart
is a few KB of text that prints sharply at any size. The report also needs no heavy plotting
dependency: matplotlib, with its backends and fonts, would weigh more than the rest of the
stage. SVG drawn in the page uses the page's font, and screen readers can read it.

Every chart function takes plain Python data and returns one ``<svg>`` element:

- accessible: ``role="img"``, an ``aria-label`` that says what the chart shows, and a
  ``<title>`` as its first child;
- safe: every label is HTML/SVG-escaped, so a contact called ``<script>`` stays text;
- readable: axis titles, tick labels with thousands separators, values on bars where there
  is room, long labels cut with an ellipsis and the full label in a ``<title>`` tooltip;
- robust: empty data draws a "No data" placeholder, a single value or all zeros still gets
  a sensible axis, negative values are drawn left of (or below) zero;
- colour-blind safe: the Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design")
  for categories, a single-hue light-to-dark blue scale (ColorBrewer "Blues") for heatmaps,
  and position or text telling the same story as colour.

The SVGs carry no ``xmlns`` (not needed inside HTML, the only place they go) and no ``id``
attributes, so any number of charts can share one document.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence

from rolodex.exceptions import InputError

__all__ = [
    "PALETTE",
    "Formatter",
    "bar_chart",
    "column_chart",
    "format_number",
    "format_percent",
    "format_points",
    "heatmap",
    "interval_line_chart",
    "lift_chart",
]

Formatter = Callable[[float], str]

# Okabe-Ito: distinguishable with protanopia, deuteranopia and tritanopia.
PALETTE: dict[str, str] = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermilion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
}
_INK = "#1f2328"
_MUTED = "#57606a"
_GRID = "#d8dee4"
# ColorBrewer Blues (9 classes): light to dark, ordered by lightness alone.
_BLUES = (
    "#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6",
    "#4292c6", "#2171b5", "#08519c", "#08306b",
)  # fmt: skip
_CHAR_WIDTH = 0.6  # average glyph width as a share of the font size, for fitting labels
_FONT = 12


def format_number(value: float) -> str:
    """Format a number for a reader: thousands separators, few decimals."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if float(value).is_integer() and magnitude < 1e15:
        return f"{int(value):,}"
    decimals = 0 if magnitude >= 100 else 1 if magnitude >= 10 else 2
    text = f"{value:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def format_percent(value: float) -> str:
    """Format a fraction (0.171) as a percentage ("17%"), with a decimal below 10 %."""
    percent = value * 100
    if percent == 0:
        return "0%"
    text = f"{percent:.0f}" if abs(percent) >= 10 else f"{percent:.1f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


def format_points(value: float) -> str:
    """Format a difference of two fractions as signed percentage points ("+7.7 pp")."""
    points = round(value * 100, 1)
    if points == 0:
        return "0 pp"
    text = f"{points:+.1f}".rstrip("0").rstrip(".")
    return f"{text} pp"


def _esc(text: object) -> str:
    """Escape text for an SVG/HTML text node or a quoted attribute."""
    return html.escape(str(text), quote=True)


def _n(value: float) -> str:
    """Write a coordinate compactly."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _fits(width: float, size: float = _FONT) -> int:
    """How many characters fit in `width` pixels at font `size`."""
    return max(4, int(width / (size * _CHAR_WIDTH)))


def _text(
    x: float,
    y: float,
    label: str,
    *,
    anchor: str = "start",
    max_chars: int | None = None,
    size: float = _FONT,
    fill: str = _INK,
    weight: str | None = None,
    rotate: float | None = None,
    css: str | None = None,
) -> str:
    """Draw one label, cut with an ellipsis (full text as a tooltip) if it is too long."""
    shown = label
    tooltip = ""
    if max_chars is not None and len(label) > max_chars:
        shown = label[: max_chars - 1].rstrip() + "\u2026"
        tooltip = f"<title>{_esc(label)}</title>"
    extra = f' font-weight="{weight}"' if weight else ""
    if rotate is not None:
        extra += f' transform="rotate({_n(rotate)} {_n(x)} {_n(y)})"'
    if css:
        extra += f' class="{css}"'
    return (
        f'<text x="{_n(x)}" y="{_n(y)}" text-anchor="{anchor}" font-size="{_n(size)}"'
        f' fill="{fill}"{extra}>{tooltip}{_esc(shown)}</text>'
    )


def _svg(width: float, height: float, *, title: str, summary: str, body: Sequence[str]) -> str:
    """Wrap chart parts in an accessible, self-sized <svg>."""
    label = f"{title}. {summary}" if summary else title
    return (
        f'<svg class="chart" role="img" aria-label="{_esc(label)}"'
        f' viewBox="0 0 {_n(width)} {_n(height)}" width="{_n(width)}" height="{_n(height)}"'
        f' font-family="inherit">'
        f"<title>{_esc(title)}</title>" + "".join(body) + "</svg>"
    )


def _no_data(title: str, *, width: float = 480, height: float = 120) -> str:
    """Draw the placeholder for a chart without data."""
    body = [
        f'<rect x="1" y="1" width="{_n(width - 2)}" height="{_n(height - 2)}" fill="#f6f8fa"'
        f' stroke="{_GRID}" stroke-dasharray="4 4"/>',
        _text(width / 2, 20, title, anchor="middle", weight="600", max_chars=_fits(width - 20)),
        _text(width / 2, height / 2 + 12, "No data", anchor="middle", size=16, fill=_MUTED),
    ]
    return _svg(width, height, title=title, summary="No data", body=body)


def _finite(values: Sequence[float], *, what: str) -> list[float]:
    """Return `values` as floats, refusing NaN and infinity with a clear message."""
    out = [float(v) for v in values]
    if not all(math.isfinite(v) for v in out):
        raise InputError(f"{what} must be finite numbers; drop or fill NaN and infinite values")
    return out


def _same_length(what: str, expected: int, *others: Sequence[object]) -> None:
    """Refuse parallel sequences of different lengths."""
    if any(len(other) != expected for other in others):
        raise InputError(f"{what}: every sequence must have one value per label ({expected})")


def _label_width(labels: Sequence[str], *, width: float, floor: float = 60.0) -> float:
    """Room for the longest label, at most 40 % of the chart (longer labels are cut)."""
    longest = max((len(label) for label in labels), default=0)
    return max(floor, min(width * 0.4, longest * _FONT * _CHAR_WIDTH + 10))


def _nice_ticks(low: float, high: float, *, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 2.5, 5 x 10^k) covering [low, high]."""
    if low > high:
        low, high = high, low
    if low == high:
        if low == 0:
            high = 1.0
        elif low > 0:
            low = 0.0
        else:
            high = 0.0
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = magnitude * 10
    for multiple in (1, 2, 2.5, 5, 10):
        if multiple * magnitude >= raw:
            step = multiple * magnitude
            break
    start = math.floor(low / step + 1e-9) * step
    end = math.ceil(high / step - 1e-9) * step
    steps = round((end - start) / step)
    return [round(start + i * step, 12) for i in range(steps + 1)]


class _Scale:
    """Map a data interval linearly onto a pixel interval."""

    def __init__(self, domain: tuple[float, float], span: tuple[float, float]) -> None:
        self.d0, self.d1 = domain
        self.r0, self.r1 = span

    def __call__(self, value: float) -> float:
        if self.d1 == self.d0:
            return self.r0
        return self.r0 + (value - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0)


def _legend(x: float, y: float, items: Sequence[tuple[str, str]]) -> list[str]:
    """Draw a one-line legend of colour swatches and names."""
    parts: list[str] = []
    for name, colour in items:
        parts.append(f'<rect x="{_n(x)}" y="{_n(y - 9)}" width="10" height="10" fill="{colour}"/>')
        parts.append(_text(x + 14, y, name, max_chars=24))
        x += 14 + min(len(name), 24) * _FONT * _CHAR_WIDTH + 16
    return parts


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    second: Sequence[float] | None = None,
    series: tuple[str, str] = ("Before", "After"),
    axis_title: str = "",
    fmt: Formatter = format_number,
    width: float = 560,
) -> str:
    """Horizontal bars, one per category, optionally paired with a second series.

    Horizontal because category names (sources, countries, fields) are read along the bar.

    Args:
        labels: Category names, drawn top to bottom in the given order.
        values: One value per label (the first series).
        title: Chart title, also its accessible name.
        second: Optional second value per label, e.g. the "after" of a before/after pair.
        series: Legend names of the two series, used only with `second`.
        axis_title: Title under the value axis.
        fmt: Formats values on the bars and the axis ticks.
        width: Width of the drawing in pixels.

    Returns:
        An ``<svg>`` element; bars have ``class="bar"`` and a ``data-value``.

    Raises:
        InputError: When lengths differ or a value is NaN or infinite.
    """
    if not labels:
        return _no_data(title, width=width)
    _same_length(title, len(labels), values, *([second] if second is not None else []))
    first = _finite(values, what=f"{title}: values")
    other = _finite(second, what=f"{title}: second series") if second is not None else None
    rows = [first] if other is None else [first, other]
    colours = [PALETTE["blue"]] if other is None else [PALETTE["orange"], PALETTE["blue"]]
    every = [v for row in rows for v in row]
    ticks = _nice_ticks(min(0.0, *every), max(0.0, *every))

    label_width = _label_width(labels, width=width)
    value_room = 64.0
    top = 30.0 if other is None else 48.0
    bar = 18.0
    band = bar * len(rows) + 10
    plot_height = band * len(labels)
    bottom = 40.0 if axis_title else 24.0
    height = top + plot_height + bottom
    scale = _Scale((ticks[0], ticks[-1]), (label_width + 8, width - value_room))
    zero = scale(0.0)

    body = [_text(0, 16, title, weight="600", max_chars=_fits(width))]
    if other is not None:
        body += _legend(label_width + 8, 36, list(zip(series, colours, strict=True)))
    for tick in ticks:
        x = scale(tick)
        body.append(
            f'<line x1="{_n(x)}" y1="{_n(top)}" x2="{_n(x)}" y2="{_n(top + plot_height)}"'
            f' stroke="{_GRID}"/>'
        )
        body.append(_text(x, top + plot_height + 14, fmt(tick), anchor="middle", fill=_MUTED))
    for i, label in enumerate(labels):
        y0 = top + i * band + 5
        body.append(
            _text(label_width, y0 + band / 2, label, anchor="end", max_chars=_fits(label_width))
        )
        for j, row in enumerate(rows):
            value = row[i]
            x_end = scale(value)
            x = min(zero, x_end)
            y = y0 + j * bar
            name = series[j] if other is not None else label
            body.append(
                f'<rect class="bar" data-value="{value!r}" x="{_n(x)}" y="{_n(y)}"'
                f' width="{_n(abs(x_end - zero))}" height="{_n(bar - 2)}" fill="{colours[j]}">'
                f"<title>{_esc(label)} \u2013 {_esc(name)}: {_esc(fmt(value))}</title></rect>"
            )
            text_x, anchor = (x_end + 4, "start") if value >= 0 else (x_end - 4, "end")
            body.append(_text(text_x, y + bar - 6, fmt(value), anchor=anchor, size=11))
    body.append(
        f'<line x1="{_n(zero)}" y1="{_n(top)}" x2="{_n(zero)}" y2="{_n(top + plot_height)}"'
        f' stroke="{_MUTED}"/>'
    )
    if axis_title:
        mid = (label_width + width - value_room) / 2
        body.append(_text(mid, height - 6, axis_title, anchor="middle", fill=_MUTED))
    summary = f"Horizontal bar chart of {len(labels)} categories"
    return _svg(width, height, title=title, summary=summary, body=body)


def column_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    x_title: str = "",
    y_title: str = "",
    fmt: Formatter = format_number,
    colour: str = PALETTE["blue"],
    width: float = 560,
    height: float = 280,
) -> str:
    """Vertical bars in order, for a histogram of bins or a series of periods.

    Args:
        labels: One label per bar (a bin such as "0-100"), left to right.
        values: One value per bar.
        title: Chart title, also its accessible name.
        x_title: Title under the horizontal axis.
        y_title: Title beside the vertical axis.
        fmt: Formats values on the bars and the axis ticks.
        colour: Bar colour.
        width: Width of the drawing in pixels.
        height: Height of the drawing in pixels.

    Returns:
        An ``<svg>`` element; bars have ``class="bar"`` and a ``data-value``.

    Raises:
        InputError: When lengths differ or a value is NaN or infinite.
    """
    if not labels:
        return _no_data(title, width=width)
    _same_length(title, len(labels), values)
    data = _finite(values, what=f"{title}: values")
    ticks = _nice_ticks(min(0.0, *data), max(0.0, *data))
    left, right, top = 64.0, 12.0, 30.0
    bottom = 48.0 if x_title else 32.0
    scale = _Scale((ticks[0], ticks[-1]), (height - bottom, top))
    zero = scale(0.0)
    slot = (width - left - right) / len(labels)
    label_every = max(1, math.ceil(len(labels) * 7 * _FONT * _CHAR_WIDTH / (width - left)))

    body = [_text(0, 16, title, weight="600", max_chars=_fits(width))]
    for tick in ticks:
        y = scale(tick)
        body.append(
            f'<line x1="{_n(left)}" y1="{_n(y)}" x2="{_n(width - right)}" y2="{_n(y)}"'
            f' stroke="{_GRID}"/>'
        )
        body.append(_text(left - 6, y + 4, fmt(tick), anchor="end", fill=_MUTED))
    show_values = len(labels) <= 12
    for i, (label, value) in enumerate(zip(labels, data, strict=True)):
        x = left + i * slot + slot * 0.1
        y_end = scale(value)
        body.append(
            f'<rect class="bar" data-value="{value!r}" x="{_n(x)}" y="{_n(min(zero, y_end))}"'
            f' width="{_n(slot * 0.8)}" height="{_n(abs(zero - y_end))}" fill="{colour}">'
            f"<title>{_esc(label)}: {_esc(fmt(value))}</title></rect>"
        )
        if show_values:
            y_text = y_end - 4 if value >= 0 else y_end + 12
            body.append(_text(x + slot * 0.4, y_text, fmt(value), anchor="middle", size=11))
        if i % label_every == 0:
            body.append(
                _text(
                    x + slot * 0.4,
                    height - bottom + 16,
                    label,
                    anchor="middle",
                    fill=_MUTED,
                    max_chars=_fits(slot * label_every),
                )
            )
    body.append(
        f'<line x1="{_n(left)}" y1="{_n(zero)}" x2="{_n(width - right)}" y2="{_n(zero)}"'
        f' stroke="{_MUTED}"/>'
    )
    if x_title:
        body.append(_text((left + width) / 2, height - 6, x_title, anchor="middle", fill=_MUTED))
    if y_title:
        mid = (top + height - bottom) / 2
        body.append(_text(14, mid, y_title, anchor="middle", fill=_MUTED, rotate=-90))
    summary = f"Column chart of {len(labels)} bars"
    return _svg(width, height, title=title, summary=summary, body=body)


def interval_line_chart(
    history_labels: Sequence[str],
    history: Sequence[float],
    forecast_labels: Sequence[str],
    forecast: Sequence[float],
    lower: Sequence[float],
    upper: Sequence[float],
    *,
    title: str,
    y_title: str = "",
    interval_name: str = "95% interval",
    fmt: Formatter = format_number,
    width: float = 640,
    height: float = 300,
) -> str:
    """A history line, a forecast line after it and the forecast's interval as a band.

    Args:
        history_labels: One label per past period (e.g. "2024-01"), oldest first.
        history: The observed value of each past period.
        forecast_labels: One label per forecast period, following the history.
        forecast: The forecast value of each future period.
        lower: The lower end of each forecast interval.
        upper: The upper end of each forecast interval.
        title: Chart title, also its accessible name.
        y_title: Title of the value axis.
        interval_name: Legend name of the band.
        fmt: Formats axis ticks and point tooltips.
        width: Width of the drawing in pixels.
        height: Height of the drawing in pixels.

    Returns:
        An ``<svg>`` element; each period has one ``<circle class="pt">`` (forecast points
        also have class ``forecast``) and the band is a ``<polygon class="band">``.

    Raises:
        InputError: When lengths differ or a value is NaN or infinite.
    """
    if not history_labels and not forecast_labels:
        return _no_data(title, width=width)
    _same_length(f"{title} (history)", len(history_labels), history)
    _same_length(f"{title} (forecast)", len(forecast_labels), forecast, lower, upper)
    past = _finite(history, what=f"{title}: history")
    future = _finite(forecast, what=f"{title}: forecast")
    low = _finite(lower, what=f"{title}: lower bounds")
    high = _finite(upper, what=f"{title}: upper bounds")
    every = past + future + low + high
    ticks = _nice_ticks(min(0.0, *every), max(0.0, *every))
    labels = [*history_labels, *forecast_labels]
    left, right, top, bottom = 72.0, 16.0, 44.0, 44.0
    x_scale = _Scale((0.0, max(1.0, len(labels) - 1.0)), (left, width - right))
    if len(labels) == 1:
        x_scale = _Scale((0.0, 1.0), ((left + width - right) / 2, width - right))
    y_scale = _Scale((ticks[0], ticks[-1]), (height - bottom, top))

    body = [_text(0, 16, title, weight="600", max_chars=_fits(width))]
    legend = [("Actual", PALETTE["blue"]), ("Forecast", PALETTE["vermilion"])]
    if future:
        legend.append((interval_name, PALETTE["sky"]))
    body += _legend(left, 34, legend if future else legend[:1])
    for tick in ticks:
        y = y_scale(tick)
        body.append(
            f'<line x1="{_n(left)}" y1="{_n(y)}" x2="{_n(width - right)}" y2="{_n(y)}"'
            f' stroke="{_GRID}"/>'
        )
        body.append(_text(left - 6, y + 4, fmt(tick), anchor="end", fill=_MUTED))
    offset = len(past)
    if future:
        upper_points = [f"{_n(x_scale(offset + i))},{_n(y_scale(v))}" for i, v in enumerate(high)]
        lower_points = [f"{_n(x_scale(offset + i))},{_n(y_scale(v))}" for i, v in enumerate(low)]
        body.append(
            f'<polygon class="band" points="{" ".join(upper_points + lower_points[::-1])}"'
            f' fill="{PALETTE["sky"]}" fill-opacity="0.35" stroke="none"/>'
        )
    if len(past) > 1:
        points = " ".join(f"{_n(x_scale(i))},{_n(y_scale(v))}" for i, v in enumerate(past))
        body.append(
            f'<polyline points="{points}" fill="none" stroke="{PALETTE["blue"]}" stroke-width="2"/>'
        )
    if future:
        joined = [(offset - 1, past[-1])] if past else []
        joined += [(offset + i, v) for i, v in enumerate(future)]
        if len(joined) > 1:
            points = " ".join(f"{_n(x_scale(i))},{_n(y_scale(v))}" for i, v in joined)
            body.append(
                f'<polyline points="{points}" fill="none" stroke="{PALETTE["vermilion"]}"'
                f' stroke-width="2" stroke-dasharray="6 4"/>'
            )
    for i, value in enumerate(past):
        body.append(
            f'<circle class="pt" cx="{_n(x_scale(i))}" cy="{_n(y_scale(value))}" r="3"'
            f' fill="{PALETTE["blue"]}"><title>{_esc(labels[i])}: {_esc(fmt(value))}</title>'
            "</circle>"
        )
    for i, value in enumerate(future):
        tip = f"{labels[offset + i]}: {fmt(value)} ({fmt(low[i])} to {fmt(high[i])})"
        body.append(
            f'<circle class="pt forecast" cx="{_n(x_scale(offset + i))}"'
            f' cy="{_n(y_scale(value))}" r="3" fill="{PALETTE["vermilion"]}">'
            f"<title>{_esc(tip)}</title></circle>"
        )
    slot = (width - left - right) / max(1, len(labels))
    every_nth = max(1, math.ceil(8 * _FONT * _CHAR_WIDTH / slot))
    for i, label in enumerate(labels):
        if i % every_nth == 0:
            body.append(
                _text(
                    x_scale(i),
                    height - bottom + 16,
                    label,
                    anchor="middle",
                    fill=_MUTED,
                    max_chars=10,
                )
            )
    if y_title:
        mid = (top + height - bottom) / 2
        body.append(_text(14, mid, y_title, anchor="middle", fill=_MUTED, rotate=-90))
    summary = f"Line chart of {len(past)} past and {len(future)} forecast periods"
    return _svg(width, height, title=title, summary=summary, body=body)


def _blue(share: float) -> str:
    """Colour of a heatmap cell at `share` (0 light .. 1 dark) on the Blues scale."""
    share = min(1.0, max(0.0, share))
    position = share * (len(_BLUES) - 1)
    i = min(int(position), len(_BLUES) - 2)
    t = position - i
    a, b = _BLUES[i], _BLUES[i + 1]
    rgb = [round(int(a[k : k + 2], 16) * (1 - t) + int(b[k : k + 2], 16) * t) for k in (1, 3, 5)]
    return "#" + "".join(f"{c:02x}" for c in rgb)


def heatmap(
    row_labels: Sequence[str],
    column_labels: Sequence[str],
    values: Sequence[Sequence[float | None]],
    *,
    title: str,
    row_title: str = "",
    column_title: str = "",
    fmt: Formatter = format_percent,
    scale: tuple[float, float] | None = None,
    cell_width: float | None = None,
) -> str:
    """A matrix of coloured cells with the value written in each; missing cells stay blank.

    Args:
        row_labels: One label per row, top to bottom.
        column_labels: One label per column, left to right.
        values: One row of values per row label, one value (or None) per column label;
            None and NaN cells are drawn empty (a cohort too young for that period).
        title: Chart title, also its accessible name.
        row_title: Title of the rows (drawn above the row labels).
        column_title: Title of the columns (drawn above the column labels).
        fmt: Formats the cell texts and the legend.
        scale: The values at the light and dark ends of the colour scale; the data's own
            minimum and maximum by default. Values beyond it take the end colours (the
            legend then says "≥ high"), so a 100 % column 0 does not wash out retention.
        cell_width: Width of one cell; by default it fits the columns into about 560 px.

    Returns:
        An ``<svg>`` element; each drawn cell is a ``<rect class="cell">`` followed by a
        ``<text class="value">``.

    Raises:
        InputError: When a row has the wrong number of values or a value is infinite.
    """
    if not row_labels or not column_labels:
        return _no_data(title)
    if len(values) != len(row_labels) or any(len(row) != len(column_labels) for row in values):
        raise InputError(
            f"{title}: values must have {len(row_labels)} rows of {len(column_labels)} values"
        )
    cells: list[list[float | None]] = []
    for row in values:
        cleaned: list[float | None] = []
        for value in row:
            if value is None or math.isnan(float(value)):
                cleaned.append(None)
            elif math.isinf(float(value)):
                raise InputError(f"{title}: values must be finite numbers or None")
            else:
                cleaned.append(float(value))
        cells.append(cleaned)
    present = [v for row in cells for v in row if v is not None]
    if not present:
        return _no_data(title)
    low, high = scale if scale is not None else (min(present), max(present))

    label_width = 96.0
    width_cell = cell_width or max(34.0, min(64.0, 560.0 / len(column_labels)))
    height_cell = 26.0
    top = 60.0
    grid_width = width_cell * len(column_labels)
    width = max(label_width + grid_width + 12, min(720.0, len(title) * _FONT * _CHAR_WIDTH + 12))
    legend_top = top + height_cell * len(row_labels) + 16
    height = legend_top + 40
    size = min(11.0, width_cell / 3.6)

    body = [_text(0, 16, title, weight="600", max_chars=_fits(width))]
    if column_title:
        body.append(
            _text(label_width + grid_width / 2, 34, column_title, anchor="middle", fill=_MUTED)
        )
    if row_title:
        body.append(_text(label_width - 6, top - 6, row_title, anchor="end", fill=_MUTED))
    for j, label in enumerate(column_labels):
        body.append(
            _text(
                label_width + (j + 0.5) * width_cell,
                top - 6,
                label,
                anchor="middle",
                size=size,
                fill=_MUTED,
                max_chars=_fits(width_cell, size),
            )
        )
    for i, label in enumerate(row_labels):
        y = top + i * height_cell
        body.append(
            _text(
                label_width - 6,
                y + height_cell / 2 + 4,
                label,
                anchor="end",
                max_chars=_fits(label_width - 8),
            )
        )
        for j, value in enumerate(cells[i]):
            if value is None:
                continue
            share = 0.5 if high == low else (value - low) / (high - low)
            x = label_width + j * width_cell
            ink = "#ffffff" if share > 0.55 else _INK
            tip = f"{row_labels[i]}, {column_labels[j]}: {fmt(value)}"
            body.append(
                f'<rect class="cell" data-value="{value!r}" x="{_n(x)}" y="{_n(y)}"'
                f' width="{_n(width_cell - 1)}" height="{_n(height_cell - 1)}"'
                f' fill="{_blue(share)}"><title>{_esc(tip)}</title></rect>'
            )
            body.append(
                _text(
                    x + width_cell / 2,
                    y + height_cell / 2 + 4,
                    fmt(value),
                    anchor="middle",
                    size=size,
                    fill=ink,
                    css="value",
                )
            )
    steps = 5
    step_width = min(48.0, max(30.0, grid_width / steps))
    for k in range(steps):
        x = label_width + k * step_width
        body.append(
            f'<rect class="legend" x="{_n(x)}" y="{_n(legend_top)}" width="{_n(step_width)}"'
            f' height="10" fill="{_blue(k / (steps - 1))}" stroke="{_GRID}"/>'
        )
    body.append(_text(label_width, legend_top + 24, fmt(low), size=10, fill=_MUTED))
    clipped = any(v > high for v in present)
    body.append(
        _text(
            label_width + steps * step_width,
            legend_top + 24,
            ("\u2265 " if clipped else "") + fmt(high),
            anchor="end",
            size=10,
            fill=_MUTED,
        )
    )
    body.append(_text(label_width - 6, legend_top + 9, "Scale", anchor="end", fill=_MUTED))
    summary = f"Heatmap of {len(row_labels)} rows by {len(column_labels)} columns"
    return _svg(width, height, title=title, summary=summary, body=body)


def lift_chart(
    labels: Sequence[str],
    lifts: Sequence[float],
    lower: Sequence[float | None],
    upper: Sequence[float | None],
    *,
    title: str,
    axis_title: str = "",
    fmt: Formatter = format_points,
    width: float = 720,
) -> str:
    """Diverging bars around zero with a confidence interval drawn as an error bar.

    A lift below zero (the treatment did worse than the control) is drawn left of the zero
    line in vermilion, a lift above it right of the line in blue; the error bar shows
    whether the interval crosses zero, which is the question a marketer has to answer.

    Args:
        labels: One label per comparison (e.g. "Womens E-Mail vs No E-Mail").
        lifts: The estimated lift of each comparison.
        lower: Lower end of each confidence interval (None: not defined).
        upper: Upper end of each confidence interval (None: not defined).
        title: Chart title, also its accessible name.
        axis_title: Title under the value axis.
        fmt: Formats lifts and axis ticks (signed percentage points by default).
        width: Width of the drawing in pixels.

    Returns:
        An ``<svg>`` element; bars have ``class="bar"`` and a ``data-value``, error bars
        are ``<line class="ci">``, the zero line is ``<line class="zero">``.

    Raises:
        InputError: When lengths differ or a value is NaN or infinite.
    """
    if not labels:
        return _no_data(title, width=width)
    _same_length(title, len(labels), lifts, lower, upper)
    values = _finite(lifts, what=f"{title}: lifts")
    lows = [None if v is None else _finite([v], what=f"{title}: lower bounds")[0] for v in lower]
    highs = [None if v is None else _finite([v], what=f"{title}: upper bounds")[0] for v in upper]
    every = values + [v for v in lows if v is not None] + [v for v in highs if v is not None]
    ticks = _nice_ticks(min(0.0, *every), max(0.0, *every))
    label_width = _label_width(labels, width=width)
    top, band = 30.0, 30.0
    plot_height = band * len(labels)
    bottom = 40.0 if axis_title else 24.0
    height = top + plot_height + bottom
    scale = _Scale((ticks[0], ticks[-1]), (label_width + 56, width - 56))
    zero = scale(0.0)

    body = [_text(0, 16, title, weight="600", max_chars=_fits(width))]
    for tick in ticks:
        x = scale(tick)
        body.append(
            f'<line x1="{_n(x)}" y1="{_n(top)}" x2="{_n(x)}" y2="{_n(top + plot_height)}"'
            f' stroke="{_GRID}"/>'
        )
        body.append(_text(x, top + plot_height + 14, fmt(tick), anchor="middle", fill=_MUTED))
    for i, label in enumerate(labels):
        y = top + i * band
        mid = y + band / 2
        value, low, high = values[i], lows[i], highs[i]
        body.append(_text(label_width, mid + 4, label, anchor="end", max_chars=_fits(label_width)))
        x_end = scale(value)
        colour = PALETTE["blue"] if value >= 0 else PALETTE["vermilion"]
        tip = f"{label}: {fmt(value)}"
        if low is not None and high is not None:
            tip += f" ({fmt(low)} to {fmt(high)})"
        body.append(
            f'<rect class="bar" data-value="{value!r}" x="{_n(min(zero, x_end))}"'
            f' y="{_n(y + 7)}" width="{_n(abs(x_end - zero))}" height="{_n(band - 14)}"'
            f' fill="{colour}"><title>{_esc(tip)}</title></rect>'
        )
        reach_right, reach_left = x_end, x_end
        if low is not None and high is not None:
            x0, x1 = scale(low), scale(high)
            reach_right, reach_left = max(x_end, x1), min(x_end, x0)
            body.append(
                f'<line class="ci" x1="{_n(x0)}" y1="{_n(mid)}" x2="{_n(x1)}" y2="{_n(mid)}"'
                f' stroke="{_INK}" stroke-width="1.5"/>'
            )
            for x in (x0, x1):
                body.append(
                    f'<line x1="{_n(x)}" y1="{_n(mid - 6)}" x2="{_n(x)}" y2="{_n(mid + 6)}"'
                    f' stroke="{_INK}" stroke-width="1.5"/>'
                )
        if value >= 0:
            body.append(_text(reach_right + 4, mid + 4, fmt(value), size=11))
        else:
            body.append(_text(reach_left - 4, mid + 4, fmt(value), anchor="end", size=11))
    body.append(
        f'<line class="zero" x1="{_n(zero)}" y1="{_n(top - 4)}" x2="{_n(zero)}"'
        f' y2="{_n(top + plot_height)}" stroke="{_INK}"/>'
    )
    if axis_title:
        mid_x = (label_width + 56 + width - 56) / 2
        body.append(_text(mid_x, height - 6, axis_title, anchor="middle", fill=_MUTED))
    summary = f"Diverging bar chart of {len(labels)} lifts with confidence intervals"
    return _svg(width, height, title=title, summary=summary, body=body)

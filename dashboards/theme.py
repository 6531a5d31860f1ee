"""One colour scheme and chart layout for every page, so the same thing looks the same.

Revenue is always green, orders orange, visits blue; a forecast's interval is a pale band of
its line's colour. Charts get a title with the unit, a legend below the plot (it fits a 390 px
phone screen) and the full width of the page.

Charts are Altair (Vega-Lite), not plotly: a page opened in a new tab loads and compiles the
chart library before it draws, which took plotly.js about 0.9 s and Vega about 0.25 s.
"""

from __future__ import annotations

import json
import textwrap
from typing import Final, TypeVar, cast

import altair as alt

REVENUE = "#2ca02c"
ORDERS = "#ff7f0e"
VISITS = "#1f77b4"
NEUTRAL = "#7f7f7f"
BAND = "rgba(31, 119, 180, 0.18)"
#: Ordered colours for categories (segments, variants, algorithms).
SERIES = ("#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#d62728", "#8c564b", "#17becf")
#: Sequential scale of heatmaps and maps (more is darker): a Vega colour scheme.
SCALE: Final = "blues"
#: Characters in a line of a chart's title: longer titles wrap, as a 390 px phone fits about
#: this many (Vega would cut them short with an ellipsis).
TITLE_LINE = 38
#: Text on a light background (Streamlit's text colour).
INK = "#262730"
#: Text on a heatmap cell at or above this share of the scale is drawn white, below it dark.
DARK_CELL = 0.6


#: A single view or layers of views: the charts that can take the page's width.
ChartT = TypeVar("ChartT", alt.Chart, alt.LayerChart)


def style(chart: ChartT, title: str, *, height: int = 380) -> ChartT:
    """The common layout: title on the left (wrapped), the page's width, legends below the
    plot, short enough for a phone.

    ``height`` is the whole chart's, title, axes and legend included: Vega fits the plot in."""
    styled = (
        chart.properties(
            title=alt.TitleParams(textwrap.wrap(title, TITLE_LINE), anchor="start"),
            height=height,
            width="container",
        )
        .configure_legend(
            orient="bottom", direction="horizontal", titleOrient="left", gradientLength=140
        )
        .configure_range(category=list(SERIES))
    )
    return cast(ChartT, styled)


def series_scale(names: list[str], colours: list[str]) -> alt.Scale:
    """A colour scale giving each named series its fixed colour (and the legend its order)."""
    return alt.Scale(domain=names, range=colours)


def as_series(layer: alt.Chart, name: str, scale: alt.Scale) -> alt.Chart:
    """``layer`` coloured as the series ``name`` of ``scale``: the layers of a chart each named
    so share one legend."""
    return layer.transform_calculate(series=json.dumps(name)).encode(
        color=alt.Color("series:N", scale=scale, title=None)
    )


def labelled_bars(base: alt.Chart, bars: alt.Chart, text: str) -> alt.LayerChart:
    """``bars`` (a bar mark of ``base``) with the field ``text`` written just past each bar's
    end; the axis needs room for the longest label (a larger scale maximum)."""
    labels = base.mark_text(align="left", dx=4, fontSize=11, color=INK).encode(text=f"{text}:N")
    return alt.LayerChart(layer=[bars, labels])


def heatmap(
    cells: alt.Chart,
    *,
    x: alt.X,
    y: alt.Y,
    value: str,
    text: str,
    domain: list[float] | None,
    legend: alt.Legend,
) -> alt.LayerChart:
    """Coloured cells with their value written in them (white on the dark ones).

    ``cells`` carries the data and the tooltip; ``value`` is the quantitative field coloured,
    ``text`` the field written; ``domain`` fixes the colour scale's ends (``None``: the data's).
    """
    scale = alt.Scale(scheme=SCALE, domain=alt.Undefined if domain is None else domain)
    base = cells.encode(x=x, y=y)
    colour = alt.Color(f"{value}:Q", scale=scale, legend=legend)
    high = (
        f"{domain[0]} + {DARK_CELL} * ({domain[1]} - {domain[0]})"
        if domain is not None
        else f"{DARK_CELL} * datum.extent_max"
    )
    rects = base.mark_rect(stroke="white", strokeWidth=2).encode(color=colour)
    writing = (
        base.transform_joinaggregate(extent_max=f"max({value})")
        .mark_text(fontSize=11)
        .encode(
            text=alt.Text(f"{text}:N"),
            color=alt.condition(f"datum.{value} >= {high}", alt.value("white"), alt.value(INK)),
        )
    )
    return alt.LayerChart(layer=[rects, writing])

"""One colour scheme and chart layout for every page, so the same thing looks the same.

Revenue is always green, orders orange, visits blue; a forecast's interval is a pale band of
its line's colour. Charts get a title with the unit, a horizontal legend below (it fits a
390 px phone screen) and tight margins.
"""

from __future__ import annotations

import plotly.graph_objects as go

REVENUE = "#2ca02c"
ORDERS = "#ff7f0e"
VISITS = "#1f77b4"
NEUTRAL = "#7f7f7f"
BAND = "rgba(31, 119, 180, 0.18)"
#: Ordered colours for categories (segments, variants, algorithms).
SERIES = ("#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd", "#d62728", "#8c564b", "#17becf")
#: Sequential scale of heatmaps and maps (more is darker).
SCALE = "Blues"


def style(figure: go.Figure, title: str, *, height: int = 380) -> go.Figure:
    """The common layout: title, legend below the plot, margins that suit a phone."""
    figure.update_layout(
        title={"text": title, "x": 0, "xanchor": "left"},
        height=height,
        margin={"t": 60, "b": 40, "l": 10, "r": 10},
        legend={"orientation": "h", "y": -0.2},
        colorway=list(SERIES),
    )
    return figure

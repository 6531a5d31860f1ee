"""A world map by country drawn as plain SVG shapes, with no network access.

plotly's geo maps download their outlines from cdn.plot.ly whenever a choropleth is drawn (even
with ``geojson`` given), and its tile maps need WebGL; both fail or leak offline. Here every
country is a filled polygon in longitude/latitude (the outlines ship in ``dashboards/geo``):
grey underneath, then one shape per country with data, coloured on the common scale, and an
invisible marker that carries the colour bar.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from dashboards import theme

GREY = "#e6e6e6"


def _rings(geometry: dict[str, Any]) -> list[list[list[float]]]:
    """The outer rings of a Polygon or MultiPolygon (holes are lakes: too small to matter)."""
    polygons = (
        [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    )
    return [polygon[0] for polygon in polygons if polygon and polygon[0]]


def _path(rings: list[list[list[float]]]) -> tuple[list[float | None], list[float | None]]:
    xs: list[float | None] = []
    ys: list[float | None] = []
    for ring in rings:
        xs.extend(point[0] for point in ring)
        ys.extend(point[1] for point in ring)
        xs.append(None)  # a gap: the next ring is a separate shape
        ys.append(None)
    return xs, ys


def world_map(
    outlines: dict[str, Any], values: dict[str, float], labels: dict[str, str], unit: str
) -> go.Figure:
    """Countries (ISO alpha-3 in ``values``) coloured by value; hover shows ``labels``."""
    figure = go.Figure()
    by_id = {feature["id"]: feature for feature in outlines["features"]}
    xs: list[float | None] = []
    ys: list[float | None] = []
    for feature in outlines["features"]:
        if feature["id"] not in values:
            x, y = _path(_rings(feature["geometry"]))
            xs.extend(x)
            ys.extend(y)
    figure.add_scatter(
        x=xs, y=ys, fill="toself", fillcolor=GREY, mode="lines",
        line={"color": "white", "width": 0.5}, hoverinfo="skip", showlegend=False,
    )  # fmt: skip
    shown = {iso: value for iso, value in values.items() if iso in by_id}
    low, high = (min(shown.values()), max(shown.values())) if shown else (0.0, 1.0)
    span = (high - low) or 1.0
    for iso, value in shown.items():
        x, y = _path(_rings(by_id[iso]["geometry"]))
        colour = sample_colorscale(theme.SCALE, [0.15 + 0.85 * (value - low) / span])[0]
        figure.add_scatter(
            x=x, y=y, fill="toself", fillcolor=colour, mode="lines",
            line={"color": "white", "width": 0.5}, hoveron="fills",
            name=labels.get(iso, iso), text=f"{labels.get(iso, iso)}: {value:,.2f}{unit}",
            hoverinfo="text", showlegend=False,
        )  # fmt: skip
    figure.add_scatter(  # the colour bar
        x=[None], y=[None], mode="markers", showlegend=False, hoverinfo="skip",
        marker={
            "colorscale": theme.SCALE, "cmin": low, "cmax": high, "color": [low],
            "showscale": True, "colorbar": {"thickness": 12, "title": {"text": unit.strip()}},
        },
    )  # fmt: skip
    figure.update_xaxes(visible=False, range=[-170, 190], fixedrange=True)
    figure.update_yaxes(
        visible=False, range=[-58, 85], scaleanchor="x", scaleratio=1.2, fixedrange=True
    )
    figure.update_layout(plot_bgcolor="white", dragmode=False)
    return figure

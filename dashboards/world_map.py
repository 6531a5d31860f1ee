"""A world map by country drawn from the outlines shipped in ``dashboards/geo``, offline.

The countries go into the Vega-Lite spec as inline GeoJSON features (``mark_geoshape`` with a
projection), so the browser fetches nothing: no map tiles, no outlines from a CDN. Countries
without data are grey; the others are coloured on the common sequential scale, with a tooltip.
Antarctica is left out: it has no shoppers and would take a fifth of the height.
"""

from __future__ import annotations

from typing import Any

import altair as alt

from dashboards import theme

GREY = "#e6e6e6"
LEFT_OUT = frozenset({"ATA"})


def features(
    outlines: dict[str, Any], values: dict[str, float], labels: dict[str, str]
) -> list[dict[str, Any]]:
    """The outlines' features, each with ``properties`` ``value`` (``None`` without data) and
    ``label`` (the name shown on hover)."""
    return [
        {
            **feature,
            "properties": {
                "value": values.get(feature["id"]),
                "label": labels.get(feature["id"], feature["id"]),
            },
        }
        for feature in outlines["features"]
        if feature["id"] not in LEFT_OUT
    ]


def world_map(
    outlines: dict[str, Any],
    values: dict[str, float],
    labels: dict[str, str],
    measure: str,
    value_format: str,
) -> alt.LayerChart:
    """Countries (ISO alpha-3 in ``values``) coloured by value; hover shows ``labels`` and the
    value in d3 ``value_format``. ``measure`` (with its unit) titles the legend and tooltip."""
    drawn = {feature["id"] for feature in outlines["features"]}
    shown = [value for iso, value in values.items() if iso in drawn]
    low, high = (min(shown), max(shown)) if shown else (0.0, 1.0)
    colour = alt.Color(
        "properties.value:Q",
        # The scheme's palest end is left out: it would look like a country without data.
        scale=alt.Scale(scheme=alt.SchemeParams(theme.SCALE, extent=[0.15, 1]), domain=[low, high]),
        legend=alt.Legend(title=measure, format=",.0f"),
    )
    countries = alt.Chart(alt.InlineData(values=features(outlines, values, labels)))
    land = countries.mark_geoshape(fill=GREY, stroke="white", strokeWidth=0.5).encode(
        tooltip=[alt.Tooltip("properties.label:N", title="Country")]
    )
    # Vega-Lite leaves out the shapes without a value from a mark coloured by value: hence
    # the grey land underneath, and the coloured countries as a second layer.
    shaded = (
        countries.transform_filter("isValid(datum.properties.value)")
        .mark_geoshape(stroke="white", strokeWidth=0.5)
        .encode(
            color=colour,
            tooltip=[
                alt.Tooltip("properties.label:N", title="Country"),
                alt.Tooltip("properties.value:Q", title=measure, format=value_format),
            ],
        )
    )
    return alt.LayerChart(layer=[land, shaded]).project(type="equalEarth")

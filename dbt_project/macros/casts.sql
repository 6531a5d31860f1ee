{#-
    `text_value` as a number of `type`, or null when it is not one. Shops send whatever their
    front-end holds ("price": "n/a"); one bad property must cost that value, not the build.
-#}

{% macro number_or_null(text_value, type) -%}
    {{ return(adapter.dispatch('number_or_null', 'intellishop')(text_value, type)) }}
{%- endmacro %}

{% macro default__number_or_null(text_value, type) -%}
    case
        when {{ text_value }} ~ '^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$'
            then cast({{ text_value }} as {{ type }})
    end
{%- endmacro %}

{% macro duckdb__number_or_null(text_value, type) -%}
    try_cast({{ text_value }} as {{ type }})
{%- endmacro %}


{#- Money: exact decimals in both dialects (float sums drift by cents). -#}
{% macro type_money() -%}
    {{ return(api.Column.numeric_type("numeric", 18, 4)) }}
{%- endmacro %}


{#- A ratio as a double-precision float (aov, conversion rates). -#}
{% macro type_ratio() -%}
    double precision
{%- endmacro %}

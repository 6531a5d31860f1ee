{#-
    `text_value` as a number of `type`, or null when it is not one or its magnitude reaches
    `max_abs`. Shops send whatever their front-end holds ("price": "n/a", 1e30); one bad
    property must cost that value, not the build (numeric(18,4) holds less than 1e14).
-#}

{% macro number_or_null(text_value, type, max_abs=1e14) -%}
    {{ return(adapter.dispatch('number_or_null', 'intellishop')(text_value, type, max_abs)) }}
{%- endmacro %}

{% macro default__number_or_null(text_value, type, max_abs) -%}
    {#- Nested cases: PostgreSQL may evaluate the operands of an AND in any order, and the cast
        to double must only see text that looks like a (bounded) number. -#}
    case
        when {{ text_value }}
            ~ '^\s*[-+]?([0-9]{1,30}\.?[0-9]{0,30}|\.[0-9]{1,30})([eE][-+]?[0-9]{1,2})?\s*$'
            then case
                when abs(cast({{ text_value }} as double precision)) < {{ max_abs }}
                    then cast({{ text_value }} as {{ type }})
            end
    end
{%- endmacro %}

{% macro duckdb__number_or_null(text_value, type, max_abs) -%}
    case
        when abs(try_cast({{ text_value }} as double)) < {{ max_abs }}
            then try_cast({{ text_value }} as {{ type }})
    end
{%- endmacro %}


{#- Money: exact decimals in both dialects (float sums drift by cents). -#}
{% macro type_money() -%}
    {{ return(api.Column.numeric_type("numeric", 18, 4)) }}
{%- endmacro %}


{#- A ratio as a double-precision float (aov, conversion rates). -#}
{% macro type_ratio() -%}
    double precision
{%- endmacro %}


{#-
    The earliest / latest of several nullable timestamps, ignoring nulls (null when all are):
    PostgreSQL's least() and greatest() skip nulls, DuckDB's too, but other engines return null
    as soon as one argument is; a coalesce chain makes the intent explicit on every engine.
-#}
{% macro least_timestamp(expressions) -%}
    {{ return(adapter.dispatch('least_timestamp', 'intellishop')(expressions)) }}
{%- endmacro %}

{% macro default__least_timestamp(expressions) -%}
    least(
        {%- for expression in expressions %}
        coalesce({{ expression }}, {{ expressions | join(', ') }}){{ ", " if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{% macro greatest_timestamp(expressions) -%}
    {{ return(adapter.dispatch('greatest_timestamp', 'intellishop')(expressions)) }}
{%- endmacro %}

{% macro default__greatest_timestamp(expressions) -%}
    greatest(
        {%- for expression in expressions %}
        coalesce({{ expression }}, {{ expressions | join(', ') }}){{ ", " if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

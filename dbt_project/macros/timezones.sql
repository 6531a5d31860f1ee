{#-
    The wall-clock time in `timezone` (an IANA name, a column or a quoted literal) of
    `timestamp_utc`, which must be a timestamp WITH time zone (the staging models keep every
    instant as one). Returns a timestamp without time zone; cast it to date for the tenant's day.
-#}

{% macro to_local_time(timestamp_utc, timezone) -%}
    {{ return(adapter.dispatch('to_local_time', 'intellishop')(timestamp_utc, timezone)) }}
{%- endmacro %}

{% macro default__to_local_time(timestamp_utc, timezone) -%}
    ({{ timestamp_utc }} at time zone {{ timezone }})
{%- endmacro %}

{% macro duckdb__to_local_time(timestamp_utc, timezone) -%}
    timezone({{ timezone }}, {{ timestamp_utc }})
{%- endmacro %}

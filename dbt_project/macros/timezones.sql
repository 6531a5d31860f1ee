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


{#-
    `timestamp_utc` (a timestamp WITH time zone) truncated to `datepart` in UTC, still with time
    zone. PostgreSQL's two-argument date_trunc would truncate in the session's zone, which is
    the server's setting, not ours.
-#}

{% macro truncate_utc(datepart, timestamp_utc) -%}
    {{ return(adapter.dispatch('truncate_utc', 'intellishop')(datepart, timestamp_utc)) }}
{%- endmacro %}

{% macro default__truncate_utc(datepart, timestamp_utc) -%}
    date_trunc('{{ datepart }}', {{ timestamp_utc }}, 'UTC')
{%- endmacro %}

{% macro duckdb__truncate_utc(datepart, timestamp_utc) -%}
    {#- The profile pins the session's TimeZone to UTC. -#}
    date_trunc('{{ datepart }}', {{ timestamp_utc }})
{%- endmacro %}

{#-
    Gathers the planner's statistics of `relation`, a table a model has just written. DuckDB
    keeps its statistics as it writes. PostgreSQL plans with the statistics autovacuum gathers
    in its own time, and a table dbt has just created has none: int_events_stitched's join of
    every event to the identity map, estimated blind, became a merge join on the tenant alone
    (over eight minutes on 1M events instead of seconds; docs/benchmarks.md).
-#}
{% macro analyze_relation(relation) -%}
    {{ return(adapter.dispatch('analyze_relation', 'intellishop')(relation)) }}
{%- endmacro %}

{% macro default__analyze_relation(relation) -%}
{%- endmacro %}

{% macro postgres__analyze_relation(relation) -%}
    analyze {{ relation }}
{%- endmacro %}

{#-
    The `columns` of the rows of `relation` that `matching` finds: `matching` is the rest of a
    select over `relation` aliased `alias` (its joins and where clause), e.g. the anonymous
    events of the devices a run re-links. For when few rows of a wide table are wanted and
    finding them takes only narrow columns.
-#}
{% macro fetch_matching_rows(relation, columns, alias, matching) -%}
    {{ return(adapter.dispatch('fetch_matching_rows', 'intellishop')(relation, columns, alias, matching)) }}
{%- endmacro %}

{% macro default__fetch_matching_rows(relation, columns, alias, matching) -%}
    select
        {%- for column in columns %}
        {{ alias }}.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ relation }} as {{ alias }}
    {{ matching }}
{%- endmacro %}

{% macro duckdb__fetch_matching_rows(relation, columns, alias, matching) -%}
    {#- DuckDB reads every projected column of every row a join probes: 42 columns of 7.6M
        anonymous events to keep a few thousand, half of an incremental int_events_stitched.
        Found by their row ids in a narrow scan, the rows are then fetched by id alone (3-8x
        less time for that step on 10M events, docs/benchmarks.md). -#}
    select {{ columns | join(', ') }}
    from {{ relation }}
    where rowid in (
        select {{ alias }}.rowid
        from {{ relation }} as {{ alias }}
        {{ matching }}
    )
{%- endmacro %}

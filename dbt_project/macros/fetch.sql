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

{#-
    Finding a row of an event model again later in the same query, e.g. a visit's first event
    once the windows have numbered the visits: `row_locator(alias)` is a value to carry along,
    `located_row(alias, locator)` the join predicate that finds the row it came from (with
    the tenant id, which the caller joins on as everywhere). The message id elsewhere.
-#}
{% macro row_locator(alias) -%}
    {{ return(adapter.dispatch('row_locator', 'intellishop')(alias)) }}
{%- endmacro %}

{% macro default__row_locator(alias) -%}
    {{ alias }}.message_id
{%- endmacro %}

{% macro duckdb__row_locator(alias) -%}
    {#- The row id: DuckDB then fetches the few rows by id instead of scanning and hashing
        every row's message id and wanted columns (int_sessions' landings on a day of 10M
        events, docs/benchmarks.md). Stable within the query. A unit test's inputs are
        values lists, which have no row ids: it checks the logic by message id. -#}
    {%- if model.resource_type == 'unit_test' -%}
        {{ default__row_locator(alias) }}
    {%- else -%}
        {{ alias }}.rowid
    {%- endif -%}
{%- endmacro %}

{% macro located_row(alias, locator) -%}
    {{ row_locator(alias) }} = {{ locator }}
{%- endmacro %}

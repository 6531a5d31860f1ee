{#-
    DuckDB's checkpoint vacuums the tables a run changed: it merges their under-full row groups
    and drops their deleted rows, recompressing them on one thread while every other commit
    waits. An incremental run changes its big tables by small appends and scattered deletes
    (a day's new events, re-stitched events, renumbered visits), and vacuuming them stalled a
    replayed day on 10M events for 2.6-4.5 s of a 30-40 s run (docs/benchmarks.md) to reclaim
    a few per cent of their rows. So a run defers it: DuckDB's `max_vacuum_tasks` is 0 for the
    run's process, unless some table's deleted rows have reached
    var('vacuum_at_deleted_share') of its stored rows; that run's checkpoint then vacuums the
    tables it changes. Until then a deleted row is still read, and skipped, by every scan of
    its table: the share bounds what deferring costs the queries. A `--full-refresh` writes
    every table anew and vacuums as usual. PostgreSQL's autovacuum does this work in its own
    time: nothing to do there.
    Run from `on-run-start` (dbt_project.yml).
-#}
{% macro schedule_vacuum() %}
    {{ return(adapter.dispatch('schedule_vacuum', 'intellishop')()) }}
{% endmacro %}

{% macro default__schedule_vacuum() %}
{% endmacro %}

{% macro duckdb__schedule_vacuum() %}
    {%- if not execute -%}
        {{ return('') }}
    {%- endif -%}
    {%- if flags.FULL_REFRESH -%}
        {#- every table is written anew: nothing to weigh -#}
        {%- do run_query('reset global max_vacuum_tasks') -%}
        {{ return('') }}
    {%- endif -%}
    {%- set stored = run_query(
        "select schema_name, table_name, estimated_size from duckdb_tables()"
        " where database_name = current_database() and not temporary"
        " and estimated_size > 0 order by schema_name, table_name"
    ).rows -%}
    {#- estimated_size counts a table's deleted rows too; count(*) only the live ones -#}
    {%- set counts = [] -%}
    {%- for row in stored -%}
        {%- do counts.append(
            'select ' ~ loop.index0 ~ ' as position, count(*) as live from '
            ~ adapter.quote(row[0]) ~ '.' ~ adapter.quote(row[1])
        ) -%}
    {%- endfor -%}
    {%- set worst = namespace(share=0.0, table=none) -%}
    {%- if counts -%}
        {%- for position, live in run_query(counts | join(' union all ')).rows -%}
            {%- set share = 1 - live / stored[position][2] -%}
            {%- if share > worst.share -%}
                {%- set worst.share = share -%}
                {%- set worst.table = stored[position][1] -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if worst.share < var('vacuum_at_deleted_share') -%}
        {%- do run_query('set global max_vacuum_tasks = 0') -%}
    {%- else -%}
        {{ log('Vacuuming the tables this run changes: ' ~ worst.table ~ ' holds '
            ~ (worst.share * 100) | round(1) ~ ' % deleted rows', info=true) }}
        {%- do run_query('reset global max_vacuum_tasks') -%}
    {%- endif -%}
{% endmacro %}

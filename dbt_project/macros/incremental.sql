{#-
    Bookkeeping of the incremental event models (int_events_stitched, int_sessions,
    int_product_mentions). Each row they write in a run carries `_batch_at`, the run's start;
    a downstream model rebuilds what upstream rewrote since its own latest `_batch_at`. dbt's
    run_started_at is the same for every model of one invocation, so a run hands its batch down
    the chain, and a model skipped or failed in one run catches up in the next.
-#}

{#- This run's batch stamp, a timestamp with time zone. -#}
{% macro batch_stamp() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}+00:00' as timestamp with time zone)
{%- endmacro %}

{#-
    The latest `column` (a timestamp with time zone) that `relation` holds, the epoch when
    empty, as a literal: it is read when the model runs, so that the database sees a constant.
    Against a subquery, DuckDB neither skips the row groups (or Parquet row groups) of older
    rows nor knows that few rows pass, and sizes its joins for the whole table: 1.5 of the 1.9
    CPU-s of an incremental int_events_stitched with nothing new went into a hash table of
    every stored event.
-#}
{% macro latest_stamp(relation, column) -%}
    {%- set stamp = '1970-01-01 00:00:00+00:00' -%}
    {%- if execute -%}
        {%- set found = run_query('select max(' ~ column ~ ') from ' ~ relation).columns[0].values()[0] -%}
        {%- if found is not none -%}
            {%- set stamp = found.astimezone(modules.pytz.utc).strftime('%Y-%m-%d %H:%M:%S.%f+00:00') -%}
        {%- endif -%}
    {%- endif -%}
    cast('{{ stamp }}' as timestamp with time zone)
{%- endmacro %}

{#- The latest batch stamp `relation` holds (the epoch when empty), as a literal. -#}
{% macro latest_batch(relation) -%}
    {{ latest_stamp(relation, '_batch_at') }}
{%- endmacro %}

{#-
    Data tests of the incremental models check the latest batch only (against all rows where
    the check compares rows): older batches were checked by the runs that wrote them, and on
    10M events a full check is most of an incremental run's tests. `dbt build --full-refresh`
    checks everything again. True when the running test should scope itself so.
-#}
{% macro tests_latest_batch_only() -%}
    {{ return(not flags.FULL_REFRESH) }}
{%- endmacro %}

{#- Predicate: the row `column` of `relation` belongs to the latest batch it holds. -#}
{% macro in_latest_batch(relation, column='_batch_at', alias=none) -%}
    {{ alias ~ '.' if alias }}{{ column }} = (select max({{ column }}) from {{ relation }})
{%- endmacro %}

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

{#- The latest batch stamp `relation` holds (the epoch when empty). -#}
{% macro latest_batch(relation) -%}
    (
        select coalesce(max(_batch_at), cast('1970-01-01 00:00:00+00:00' as timestamp with time zone))
        from {{ relation }}
    )
{%- endmacro %}

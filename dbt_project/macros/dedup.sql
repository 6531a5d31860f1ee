{#-
    The rows of `relation` (a CTE name; raw events with tenant_id, message_id, received_at and
    log_offset) that are each message's first arrival, with a constant `arrival_rank` of 1
    (the contract of the generic version, whose rank column the caller filters on).
    A client that retried a batch sent its messages twice; the first arrival is the real one.
-#}
{% macro first_arrivals(relation) -%}
    {{ return(adapter.dispatch('first_arrivals', 'intellishop')(relation)) }}
{%- endmacro %}

{% macro default__first_arrivals(relation) -%}
    select
        *,
        row_number() over (
            partition by tenant_id, message_id
            order by received_at, log_offset
        ) as arrival_rank
    from {{ relation }}
{%- endmacro %}

{% macro duckdb__first_arrivals(relation) -%}
    {#- The window above sorts every column of every event, raw JSON included: most of the
        staging model's time. Here the ranking sees only the keys and the row's address in the
        raw zone (filename, file_row_number, which the source's read_parquet adds), and only
        for the messages that arrived more than once (a retry is rare: grouping the keys costs
        a third of ranking them all); the later copies it finds are taken out of the wide rows
        by an anti join. Identical rows, same order of preference; `relation` must be a NOT
        MATERIALIZED CTE or a relation, so that reading it three times reads columns, not a
        copy of every event. -#}
    select {{ relation }}.*, 1 as arrival_rank
    from {{ relation }}
    anti join (
        select filename, file_row_number
        from (
            select
                filename,
                file_row_number,
                row_number() over (
                    partition by tenant_id, message_id
                    order by received_at, log_offset
                ) as arrival_rank
            from {{ relation }}
            semi join (
                select tenant_id, message_id
                from {{ relation }}
                group by tenant_id, message_id
                having count(*) > 1
            ) as repeated
                using (tenant_id, message_id)
        ) as numbered
        where arrival_rank > 1
    ) as later_copies
        using (filename, file_row_number)
{%- endmacro %}

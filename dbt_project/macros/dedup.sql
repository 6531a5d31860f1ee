{#-
    The rows of `relation` (a CTE name; staged events with tenant_id, message_id, received_at,
    log_offset and the columns of `raw_row_address`) that are each message's first arrival,
    with a constant `arrival_rank` of 1 (the contract of the generic version, whose rank column
    the caller filters on). A client that retried a batch sent its messages twice; the first
    arrival is the real one.
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
    {#- The window above sorts every column of every event: most of a full build's time in
        staging, when it ranked. Here the ranking sees only the keys and the row's address in
        the raw zone (`raw_row_address`: the Parquet file and row number), and only
        for the messages that arrived more than once (a retry is rare: grouping the keys costs
        a third of ranking them all); the later copies it finds are taken out of the wide rows
        by an anti join. Identical rows, same order of preference; `relation` must be a NOT
        MATERIALIZED CTE or a relation, so that reading it three times reads columns, not a
        copy of every event. -#}
    select {{ relation }}.*, 1 as arrival_rank
    from {{ relation }}
    anti join (
        select _raw_file, _raw_row
        from (
            select
                _raw_file,
                _raw_row,
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
        using (_raw_file, _raw_row)
{%- endmacro %}


{#-
    Where each row of the raw zone is, as columns `_raw_file` and `_raw_row` followed by a
    comma, for `first_arrivals` to drop later copies by address: DuckDB reads the Parquet raw
    zone with its file name and row number (the source's read_parquet; `from_source` names
    them there, staging passes them on). Nothing on other targets, whose `first_arrivals`
    ranks whole rows.
-#}
{% macro raw_row_address(from_source=false) -%}
    {{ return(adapter.dispatch('raw_row_address', 'intellishop')(from_source)) }}
{%- endmacro %}

{% macro default__raw_row_address(from_source) -%}
{%- endmacro %}

{% macro duckdb__raw_row_address(from_source) -%}
    {%- if from_source -%}
        filename as _raw_file, file_row_number as _raw_row,
    {%- else -%}
        _raw_file, _raw_row,
    {%- endif -%}
{%- endmacro %}

{#-
    The columns together identify a row (dbt core's `unique` takes one column only).

    `batch_column`, for incremental models, names the column holding the stamp of the run that
    wrote each row: an incremental run then checks the keys of the latest batch, each against
    every row, which catches any duplicate the run made at a fraction of a full grouping (0.6
    against 2.4 CPU-s on 10M stitched events). See tests_latest_batch_only (incremental.sql).
-#}
{% test unique_key(model, columns, batch_column=none) %}

{%- set key = columns | join(', ') %}
{%- if batch_column is none or not tests_latest_batch_only() %}

select
    {{ key }},
    count(*) as occurrences
from {{ model }}
group by {{ key }}
having count(*) > 1

{%- else %}

with

latest as (

    select {{ key }}
    from {{ model }}
    where {{ in_latest_batch(model, batch_column) }}

)

select
    {%- for column in columns %}
    tested.{{ column }},
    {%- endfor %}
    count(*) as occurrences
from {{ model }} as tested
where exists (
    select 1
    from latest
    where
        {%- for column in columns %}
        {{ 'and ' if not loop.first }}latest.{{ column }} = tested.{{ column }}
        {%- endfor %}
)
group by {% for column in columns %}tested.{{ column }}{{ ', ' if not loop.last }}{% endfor %}
having count(*) > 1

{%- endif %}

{% endtest %}

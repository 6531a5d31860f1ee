{#-
    None of `columns` holds a null: one query and one dbt node per model, where dbt core's
    `not_null` takes one column and one node each. A node costs 40-120 ms of dbt's own Python
    whatever its SQL: the 74 single-column tests were 2.9 s (8 %) of a day's run on 10M events
    (docs/benchmarks.md). A failing row names the column and how many nulls it holds.
-#}
{% test not_null_columns(model, columns) %}

{%- for column in columns %}
select
    '{{ column }}' as column_name,
    count(*) as null_rows
from {{ model }}
where {{ adapter.quote(column) }} is null
having count(*) > 0
{%- if not loop.last %}

union all
{% endif %}
{%- endfor %}

{% endtest %}

{#- The columns together identify a row (dbt core's `unique` takes one column only). -#}
{% test unique_key(model, columns) %}

select
    {{ columns | join(', ') }},
    count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1

{% endtest %}

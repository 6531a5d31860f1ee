{#- Every visit that reached a later funnel step reached... nothing forces that, but a visit
    cannot be counted at a step more often than there are visits: each step's count is at most
    the row's visits. Rows returned are violations. -#}
{% test dbt_utils_free_funnel_is_monotonic(model) %}
select *
from {{ model }}
where viewed_sessions > sessions
   or added_sessions > sessions
   or checkout_sessions > sessions
   or ordered_sessions > sessions
{% endtest %}

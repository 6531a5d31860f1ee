-- Acquisition cohorts x periods since acquisition, by month and by week: of the customers
-- whose first (not fully refunded) order fell in a cohort, how many ordered again in each later
-- period, and what they spent. Cohorts and periods use the tenant's calendar (its time zone);
-- weeks start on Monday. Period 0 is the cohort's own period (retention 1 by definition).

with

tenants as (

    select * from {{ ref('stg_collector__tenants') }}

),

orders as (

    select
        orders.tenant_id,
        coalesce(orders.user_id, orders.actor_id) as customer_id,
        orders.net_revenue,
        cast(
            {{ to_local_time('orders.ordered_at', "coalesce(tenants.timezone, 'UTC')") }}
            as date
        ) as order_date
    from {{ ref('int_orders') }} as orders
    left join tenants
        on orders.tenant_id = tenants.tenant_id
    where orders.refunded_share < 1

),

firsts as (

    select tenant_id, customer_id, min(order_date) as first_order_date
    from orders
    group by 1, 2

),

{% set grains = ['month', 'week'] %}

{% for grain in grains %}
by_{{ grain }} as (

    select
        orders.tenant_id,
        '{{ grain }}' as cohort_grain,
        cast({{ dbt.date_trunc(grain, 'firsts.first_order_date') }} as date) as cohort_start,
        cast({{ dbt.datediff(
            dbt.date_trunc(grain, 'firsts.first_order_date'),
            dbt.date_trunc(grain, 'orders.order_date'),
            grain
        ) }} as {{ dbt.type_int() }}) as period_number,
        orders.customer_id,
        orders.net_revenue
    from orders
    inner join firsts
        on orders.tenant_id = firsts.tenant_id
        and orders.customer_id = firsts.customer_id

),
{% endfor %}

activity as (

    {% for grain in grains %}
    select * from by_{{ grain }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

periods as (

    select
        tenant_id,
        cohort_grain,
        cohort_start,
        period_number,
        count(distinct customer_id) as active_customers,
        sum(net_revenue) as net_revenue
    from activity
    group by 1, 2, 3, 4

),

cohort_sizes as (

    select
        tenant_id,
        cohort_grain,
        cohort_start,
        active_customers as cohort_customers,
        net_revenue as cohort_revenue
    from periods
    where period_number = 0

),

final as (

    select
        periods.tenant_id,
        periods.cohort_grain,
        periods.cohort_start,
        periods.period_number,
        cohort_sizes.cohort_customers,
        periods.active_customers,
        cast(periods.active_customers as {{ type_ratio() }})
            / cohort_sizes.cohort_customers as customer_retention,
        cast(periods.net_revenue as {{ type_money() }}) as net_revenue,
        cast(periods.net_revenue as {{ type_ratio() }})
            / nullif(cohort_sizes.cohort_customers, 0) as revenue_per_cohort_customer,
        -- revenue retention: the period's revenue against the cohort's first period's
        cast(periods.net_revenue as {{ type_ratio() }})
            / nullif(cohort_sizes.cohort_revenue, 0) as revenue_retention
    from periods
    inner join cohort_sizes
        on periods.tenant_id = cohort_sizes.tenant_id
        and periods.cohort_grain = cohort_sizes.cohort_grain
        and periods.cohort_start = cohort_sizes.cohort_start

)

select * from final

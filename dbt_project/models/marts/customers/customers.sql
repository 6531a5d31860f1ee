-- One row per buying customer with RFM scores and a named segment. A customer is the stitched
-- user id (else the anonymous id of a guest checkout). Fully refunded orders do not count.
--
-- Scores are quintiles 1..5 within the tenant (5 = most recent, most frequent, most spent),
-- assigned by rank with deterministic tie-breaks: most shoppers buy once, so quintiles of the
-- order count alone would be all ties; frequency ties are broken by spend, then by id.
-- Recency is in days before the tenant's latest order (the data's "now"), not the wall clock,
-- so the same data always scores the same.

with

orders as (

    select * from {{ ref('int_orders') }}
    where refunded_share < 1

),

tenant_now as (

    select tenant_id, max(ordered_at) as as_of
    from orders
    group by tenant_id

),

customer_orders as (

    select
        tenant_id,
        coalesce(user_id, actor_id) as customer_id,
        max(user_id) as user_id,
        count(*) as orders,
        sum(net_revenue) as net_revenue,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at
    from orders
    group by 1, 2

),

scored as (

    select
        customer_orders.*,
        {{ dbt.datediff('customer_orders.last_order_at', 'tenant_now.as_of', 'day') }}
            as recency_days,
        ntile(5) over (
            partition by customer_orders.tenant_id
            order by customer_orders.last_order_at, customer_orders.customer_id
        ) as recency_score,
        ntile(5) over (
            partition by customer_orders.tenant_id
            order by customer_orders.orders, customer_orders.net_revenue,
                customer_orders.customer_id
        ) as frequency_score,
        ntile(5) over (
            partition by customer_orders.tenant_id
            order by customer_orders.net_revenue, customer_orders.customer_id
        ) as monetary_score
    from customer_orders
    inner join tenant_now
        on customer_orders.tenant_id = tenant_now.tenant_id

),

final as (

    select
        *,
        cast(recency_score as {{ dbt.type_string() }})
            || cast(frequency_score as {{ dbt.type_string() }})
            || cast(monetary_score as {{ dbt.type_string() }}) as rfm_code,
        {{ rfm_segment('recency_score', 'frequency_score', 'monetary_score', 'orders') }}
            as rfm_segment
    from scored

)

select * from final

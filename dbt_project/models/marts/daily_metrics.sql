-- The shop's headline numbers per day, where a day is the TENANT's calendar day (its IANA time
-- zone from the tenant registry; UTC for a tenant missing from it). Visits count on the day they
-- started, orders on the day they were placed, net of later refunds. A customer is new on the
-- day of their first order ever and returning on any later day they order; a visitor is new on
-- the day of their first visit.

with

tenants as (

    select * from {{ ref('stg_collector__tenants') }}

),

sessions as (

    select
        sessions.*,
        cast(
            {{ to_local_time('sessions.started_at', "coalesce(tenants.timezone, 'UTC')") }}
            as date
        ) as metric_date
    from {{ ref('int_sessions') }} as sessions
    left join tenants
        on sessions.tenant_id = tenants.tenant_id

),

orders as (

    select
        orders.*,
        coalesce(orders.user_id, orders.actor_id) as customer_id,
        cast(
            {{ to_local_time('orders.ordered_at', "coalesce(tenants.timezone, 'UTC')") }}
            as date
        ) as metric_date
    from {{ ref('int_orders') }} as orders
    left join tenants
        on orders.tenant_id = tenants.tenant_id

),

first_orders as (

    select tenant_id, customer_id, min(metric_date) as first_order_date
    from orders
    group by 1, 2

),

session_days as (

    select
        tenant_id,
        metric_date,
        count(*) as sessions,
        count(distinct actor_id) as visitors,
        count(distinct case when session_number = 1 then actor_id end) as new_visitors
    from sessions
    group by 1, 2

),

order_days as (

    select
        orders.tenant_id,
        orders.metric_date,
        count(*) as orders,
        sum(orders.net_revenue) as revenue,
        sum(orders.gross_revenue) as gross_revenue,
        count(case when orders.refund_count > 0 or orders.cancelled_at is not null then 1 end)
            as refunded_orders,
        count(distinct orders.customer_id) as customers,
        count(
            distinct case
                when orders.metric_date = first_orders.first_order_date
                    then orders.customer_id
            end
        ) as new_customers
    from orders
    inner join first_orders
        on orders.tenant_id = first_orders.tenant_id
        and orders.customer_id = first_orders.customer_id
    group by 1, 2

),

days as (

    select tenant_id, metric_date from session_days
    union
    select tenant_id, metric_date from order_days

),

final as (

    select
        days.tenant_id,
        days.metric_date,
        tenants.currency,
        cast(coalesce(order_days.revenue, 0) as {{ type_money() }}) as revenue,
        cast(coalesce(order_days.gross_revenue, 0) as {{ type_money() }}) as gross_revenue,
        cast(
            coalesce(order_days.gross_revenue, 0) - coalesce(order_days.revenue, 0)
            as {{ type_money() }}
        ) as refunded_revenue,
        coalesce(order_days.orders, 0) as orders,
        coalesce(order_days.refunded_orders, 0) as refunded_orders,
        cast(
            order_days.revenue / nullif(order_days.orders, 0) as {{ type_money() }}
        ) as aov,
        coalesce(session_days.sessions, 0) as sessions,
        coalesce(session_days.visitors, 0) as visitors,
        coalesce(session_days.new_visitors, 0) as new_visitors,
        coalesce(session_days.visitors, 0) - coalesce(session_days.new_visitors, 0)
            as returning_visitors,
        coalesce(order_days.customers, 0) as customers,
        coalesce(order_days.new_customers, 0) as new_customers,
        coalesce(order_days.customers, 0) - coalesce(order_days.new_customers, 0)
            as returning_customers,
        cast(coalesce(order_days.orders, 0) as {{ type_ratio() }})
            / nullif(session_days.sessions, 0) as conversion_rate
    from days
    left join session_days
        on days.tenant_id = session_days.tenant_id
        and days.metric_date = session_days.metric_date
    left join order_days
        on days.tenant_id = order_days.tenant_id
        and days.metric_date = order_days.metric_date
    left join tenants
        on days.tenant_id = tenants.tenant_id

)

select * from final

-- The shop's headline numbers per day, where a day is the TENANT's calendar day (its IANA time
-- zone from the tenant registry; UTC for a tenant missing from it). Visits count on the day they
-- started, orders on the day they were placed, net of later refunds.

with

tenants as (

    select * from {{ ref('stg_collector__tenants') }}

),

sessions as (

    select * from {{ ref('int_sessions') }}

),

orders as (

    select * from {{ ref('int_orders') }}

),

session_days as (

    select
        sessions.tenant_id,
        cast(
            {{ to_local_time('sessions.started_at', "coalesce(tenants.timezone, 'UTC')") }}
            as date
        ) as metric_date,
        count(*) as sessions,
        count(distinct sessions.actor_id) as visitors
    from sessions
    left join tenants
        on sessions.tenant_id = tenants.tenant_id
    group by 1, 2

),

order_days as (

    select
        orders.tenant_id,
        cast(
            {{ to_local_time('orders.ordered_at', "coalesce(tenants.timezone, 'UTC')") }}
            as date
        ) as metric_date,
        count(*) as orders,
        sum(orders.net_revenue) as revenue,
        sum(orders.gross_revenue) as gross_revenue,
        count(case when orders.refund_count > 0 then 1 end) as refunded_orders
    from orders
    left join tenants
        on orders.tenant_id = tenants.tenant_id
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
        coalesce(order_days.orders, 0) as orders,
        coalesce(order_days.refunded_orders, 0) as refunded_orders,
        cast(
            order_days.revenue / nullif(order_days.orders, 0) as {{ type_money() }}
        ) as aov,
        coalesce(session_days.sessions, 0) as sessions,
        coalesce(session_days.visitors, 0) as visitors,
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

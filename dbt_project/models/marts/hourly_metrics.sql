-- The live views' numbers per tenant-local hour: visits started, visitors, orders and revenue
-- (net of refunds, like daily_metrics). metric_hour is the wall-clock hour in the tenant's time
-- zone; metric_hour_utc is the same hour as an instant, for "the last 24 hours" filters (on the
-- autumn night a local hour happens twice, the two hours are one row per UTC instant).

with

tenants as (

    select * from {{ ref('stg_collector__tenants') }}

),

session_hours as (

    select
        sessions.tenant_id,
        {{ truncate_utc('hour', 'sessions.started_at') }} as metric_hour_utc,
        count(*) as sessions,
        count(distinct sessions.actor_id) as visitors
    from {{ ref('int_sessions') }} as sessions
    group by 1, 2

),

order_hours as (

    select
        orders.tenant_id,
        {{ truncate_utc('hour', 'orders.ordered_at') }} as metric_hour_utc,
        count(*) as orders,
        sum(orders.net_revenue) as revenue,
        sum(orders.gross_revenue) as gross_revenue
    from {{ ref('int_orders') }} as orders
    group by 1, 2

),

hours as (

    select tenant_id, metric_hour_utc from session_hours
    union
    select tenant_id, metric_hour_utc from order_hours

),

final as (

    select
        hours.tenant_id,
        {{ to_local_time('hours.metric_hour_utc', "coalesce(tenants.timezone, 'UTC')") }}
            as metric_hour,
        cast(
            {{ to_local_time('hours.metric_hour_utc', "coalesce(tenants.timezone, 'UTC')") }}
            as date
        ) as metric_date,
        hours.metric_hour_utc,
        coalesce(session_hours.sessions, 0) as sessions,
        coalesce(session_hours.visitors, 0) as visitors,
        coalesce(order_hours.orders, 0) as orders,
        cast(coalesce(order_hours.revenue, 0) as {{ type_money() }}) as revenue,
        cast(coalesce(order_hours.gross_revenue, 0) as {{ type_money() }}) as gross_revenue
    from hours
    left join session_hours
        on hours.tenant_id = session_hours.tenant_id
        and hours.metric_hour_utc = session_hours.metric_hour_utc
    left join order_hours
        on hours.tenant_id = order_hours.tenant_id
        and hours.metric_hour_utc = order_hours.metric_hour_utc
    left join tenants
        on hours.tenant_id = tenants.tenant_id

)

select * from final

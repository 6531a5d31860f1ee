-- Where the shop's visitors and buyers are, per tenant-local day and country (from the IP, at
-- ingest): visits, visitors, orders and net revenue. Orders count in the country their Order
-- Completed event came from.

with

tenants as (

    select * from {{ ref('stg_collector__tenants') }}

),

session_days as (

    select
        sessions.tenant_id,
        cast(
            {{ to_local_time('sessions.started_at', "coalesce(tenants.timezone, 'UTC')") }}
            as date
        ) as metric_date,
        coalesce(sessions.country, 'unknown') as country,
        count(*) as sessions,
        count(distinct sessions.actor_id) as visitors
    from {{ ref('int_sessions') }} as sessions
    left join tenants
        on sessions.tenant_id = tenants.tenant_id
    group by 1, 2, 3

),

order_days as (

    select
        orders.tenant_id,
        cast(
            {{ to_local_time('orders.ordered_at', "coalesce(tenants.timezone, 'UTC')") }}
            as date
        ) as metric_date,
        coalesce(orders.country, 'unknown') as country,
        count(*) as orders,
        sum(orders.net_revenue) as net_revenue
    from {{ ref('int_orders') }} as orders
    left join tenants
        on orders.tenant_id = tenants.tenant_id
    group by 1, 2, 3

),

keys as (

    select tenant_id, metric_date, country from session_days
    union
    select tenant_id, metric_date, country from order_days

),

final as (

    select
        keys.tenant_id,
        keys.metric_date,
        keys.country,
        coalesce(session_days.sessions, 0) as sessions,
        coalesce(session_days.visitors, 0) as visitors,
        coalesce(order_days.orders, 0) as orders,
        cast(coalesce(order_days.net_revenue, 0) as {{ type_money() }}) as net_revenue
    from keys
    left join session_days
        on keys.tenant_id = session_days.tenant_id
        and keys.metric_date = session_days.metric_date
        and keys.country = session_days.country
    left join order_days
        on keys.tenant_id = order_days.tenant_id
        and keys.metric_date = order_days.metric_date
        and keys.country = order_days.country

)

select * from final

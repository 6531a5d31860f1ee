-- The purchase funnel per tenant-local day, device, traffic source and country: how many visits
-- reached each step (Product Viewed -> Product Added -> Checkout Started -> Order Completed).
-- A visit counts at every step it reached, whatever the order of its events. Step rates are of
-- the row; to roll rows up, sum the visit counts and divide again (rates do not add up).
-- Drop-off counts the visits that reached a step but not the next one (a visit may skip a step:
-- an add from a list page has no view), so a step's drop-off rate is not 1 - its conversion.

with

tenants as (

    select * from {{ ref('stg_collector__tenants') }}

),

sessions as (

    select * from {{ ref('int_sessions') }}

),

session_steps as (

    select
        sessions.tenant_id,
        cast(
            {{ to_local_time('sessions.started_at', "coalesce(tenants.timezone, 'UTC')") }}
            as date
        ) as metric_date,
        coalesce(sessions.device_type, 'unknown') as device_type,
        coalesce(
            sessions.utm_source,
            case
                when sessions.referrer is null or sessions.referrer = '' then '(direct)'
                else '(referral)'
            end
        ) as traffic_source,
        coalesce(sessions.country, 'unknown') as country,
        case when sessions.product_views > 0 then 1 else 0 end as viewed,
        case when sessions.cart_adds > 0 then 1 else 0 end as added,
        case when sessions.checkouts > 0 then 1 else 0 end as checked_out,
        case when sessions.orders > 0 then 1 else 0 end as ordered
    from sessions
    left join tenants
        on sessions.tenant_id = tenants.tenant_id

),

counted as (

    select
        tenant_id,
        metric_date,
        device_type,
        traffic_source,
        country,
        count(*) as sessions,
        sum(viewed) as viewed_sessions,
        sum(added) as added_sessions,
        sum(checked_out) as checkout_sessions,
        sum(ordered) as ordered_sessions,
        -- drop-off: visits that reached a step and not the next one
        sum(viewed * (1 - added)) as dropped_after_view_sessions,
        sum(added * (1 - checked_out)) as dropped_after_add_sessions,
        sum(checked_out * (1 - ordered)) as dropped_after_checkout_sessions
    from session_steps
    group by 1, 2, 3, 4, 5

),

final as (

    select
        *,
        cast(added_sessions as {{ type_ratio() }}) / nullif(viewed_sessions, 0)
            as view_to_add_rate,
        cast(checkout_sessions as {{ type_ratio() }}) / nullif(added_sessions, 0)
            as add_to_checkout_rate,
        cast(ordered_sessions as {{ type_ratio() }}) / nullif(checkout_sessions, 0)
            as checkout_to_order_rate,
        cast(ordered_sessions as {{ type_ratio() }}) / nullif(sessions, 0)
            as session_conversion_rate,
        cast(dropped_after_view_sessions as {{ type_ratio() }}) / nullif(viewed_sessions, 0)
            as view_drop_off_rate,
        cast(dropped_after_add_sessions as {{ type_ratio() }}) / nullif(added_sessions, 0)
            as add_drop_off_rate,
        cast(dropped_after_checkout_sessions as {{ type_ratio() }})
            / nullif(checkout_sessions, 0) as checkout_drop_off_rate
    from counted

)

select * from final

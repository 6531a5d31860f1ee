{{ config(materialized='table') }}

-- Visits: a person's device-side events with no gap of `session_timeout_minutes` or more.
-- Crawlers make no visits, and neither do server-side calls (a refund the shop's backend sends
-- two weeks later carries only a user id, no anonymous id): both would inflate sessions and
-- deflate conversion. Attribution (landing page, referrer, campaign, country, device) is that
-- of the visit's first event.

{% set timeout_ms = var('session_timeout_minutes') * 60 * 1000 %}

with

events as (

    select
        tenant_id,
        actor_id,
        resolved_user_id,
        message_id,
        message_type,
        event,
        occurred_at,
        page_url,
        referrer,
        utm_source,
        utm_medium,
        utm_campaign,
        country,
        device_type
    from {{ ref('int_events_stitched') }}
    where not is_bot
      and anonymous_id is not null

),

gaps as (

    select
        *,
        lag(occurred_at) over (
            partition by tenant_id, actor_id
            order by occurred_at, message_id
        ) as previous_occurred_at
    from events

),

flagged as (

    select
        *,
        case
            when previous_occurred_at is null then 1
            when {{ dbt.datediff('previous_occurred_at', 'occurred_at', 'millisecond') }}
                >= {{ timeout_ms }} then 1
            else 0
        end as is_session_start
    from gaps

),

numbered as (

    select
        *,
        sum(is_session_start) over (
            partition by tenant_id, actor_id
            order by occurred_at, message_id
            rows between unbounded preceding and current row
        ) as session_number
    from flagged

),

landings as (

    select
        tenant_id,
        actor_id,
        session_number,
        occurred_at as started_at,
        page_url as landing_page,
        referrer,
        utm_source,
        utm_medium,
        utm_campaign,
        country,
        device_type
    from numbered
    where is_session_start = 1

),

totals as (

    select
        tenant_id,
        actor_id,
        session_number,
        max(occurred_at) as ended_at,
        max(resolved_user_id) as user_id,
        count(*) as event_count,
        count(case when message_type = 'page' then 1 end) as page_views,
        count(case when event = 'Product Viewed' then 1 end) as product_views,
        count(case when event = 'Product Added' then 1 end) as cart_adds,
        count(case when event = 'Checkout Started' then 1 end) as checkouts,
        count(case when event = 'Order Completed' then 1 end) as orders
    from numbered
    group by tenant_id, actor_id, session_number

),

sessions as (

    select
        {{ dbt.hash(dbt.concat([
            "landings.tenant_id", "'|'", "landings.actor_id", "'|'",
            dbt.cast("landings.session_number", dbt.type_string())
        ])) }} as session_id,
        landings.tenant_id,
        landings.actor_id,
        totals.user_id,
        landings.session_number,
        landings.started_at,
        totals.ended_at,
        {{ dbt.datediff('landings.started_at', 'totals.ended_at', 'second') }} as duration_seconds,
        totals.event_count,
        totals.page_views,
        totals.product_views,
        totals.cart_adds,
        totals.checkouts,
        totals.orders,
        landings.landing_page,
        landings.referrer,
        landings.utm_source,
        landings.utm_medium,
        landings.utm_campaign,
        landings.country,
        landings.device_type
    from landings
    inner join totals
        on landings.tenant_id = totals.tenant_id
        and landings.actor_id = totals.actor_id
        and landings.session_number = totals.session_number

)

select * from sessions

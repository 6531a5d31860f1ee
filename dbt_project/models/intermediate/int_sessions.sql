{#-
    Incremental: a run renumbers the visits of the people whose events int_events_stitched
    rewrote since this model's latest batch (new and late events, and events re-stitched to
    someone else: both the new and the previous person), and only from where their events
    changed. A person's visits that began before their earliest changed event, except the last
    of them (a new event may extend it, a moved one shorten it), cannot change: the event that
    starts the next one still follows a gap of `session_timeout_minutes`. Those stay as stored;
    the rest are numbered on from them and replace the stored ones by (tenant_id, actor_id,
    session_number). A stored visit that no new one replaces (the person now has fewer: their
    device's events moved to a user) gets a tombstone row that the post-hook removes. On 10M
    events a day's batch touched people with 1.4M visit events in all, most of them in visits
    that were over: 0.44M are numbered again. `--full-refresh` rebuilds everything.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['tenant_id', 'actor_id', 'session_number'],
    on_schema_change='append_new_columns',
    post_hook="delete from {{ this }} where session_id is null",
) }}

-- Visits: a person's device-side events with no gap of `session_timeout_minutes` or more.
-- Crawlers make no visits, and neither do server-side calls (a refund the shop's backend sends
-- two weeks later carries only a user id, no anonymous id): both would inflate sessions and
-- deflate conversion. Attribution (landing page, referrer, campaign, country, device) is that
-- of the visit's first event.

{% set timeout_ms = var('session_timeout_minutes') * 60 * 1000 %}
{#- A visit's columns after its session_id, tenant_id and actor_id, with their types. -#}
{% set visit_columns = [
    ('user_id', dbt.type_string()), ('session_number', dbt.type_bigint()),
    ('started_at', 'timestamp with time zone'), ('ended_at', 'timestamp with time zone'),
    ('duration_seconds', dbt.type_bigint()), ('event_count', dbt.type_bigint()),
    ('page_views', dbt.type_bigint()), ('product_views', dbt.type_bigint()),
    ('cart_adds', dbt.type_bigint()), ('checkouts', dbt.type_bigint()),
    ('orders', dbt.type_bigint()), ('landing_page', dbt.type_string()),
    ('referrer', dbt.type_string()), ('utm_source', dbt.type_string()),
    ('utm_medium', dbt.type_string()), ('utm_campaign', dbt.type_string()),
    ('country', dbt.type_string()), ('device_type', dbt.type_string()),
] %}

with

{% if is_incremental() %}
{#- Read once: each call is a query. -#}
{% set since = latest_batch(this) %}
changed_events as (

    select stitched.tenant_id, stitched.actor_id, stitched.occurred_at
    from {{ ref('int_events_stitched') }} as stitched
    where stitched._batch_at > {{ since }}
    union all
    select stitched.tenant_id, stitched.previous_actor_id as actor_id, stitched.occurred_at
    from {{ ref('int_events_stitched') }} as stitched
    where stitched._batch_at > {{ since }}
      and stitched.previous_actor_id is not null

),

changed as (

    select tenant_id, actor_id, min(occurred_at) as changed_from
    from changed_events
    group by tenant_id, actor_id

),

restarts as (

    -- Per changed person, where numbering starts again: the start of their last stored visit
    -- that began before their earliest changed event (null: from their first event), how many
    -- visits before it are kept, and how many they had.
    select
        changed.tenant_id,
        changed.actor_id,
        max(
            case when stored.started_at < changed.changed_from then stored.started_at end
        ) as restart_at,
        coalesce(
            max(
                case when stored.started_at < changed.changed_from then stored.session_number end
            ) - 1,
            0
        ) as kept_visits,
        coalesce(max(stored.session_number), 0) as stored_visits
    from changed
    left join {{ this }} as stored
        on changed.tenant_id = stored.tenant_id
        and changed.actor_id = stored.actor_id
    group by changed.tenant_id, changed.actor_id

),

{% endif %}

events as (

    -- Only what numbering and totals need, as narrow as it goes: the two windows below sort
    -- every column they carry. What totals count is a boolean and a small number instead of
    -- two strings, and whether the person is known a boolean instead of their id (a resolved
    -- user id is always the actor id: int_events_stitched), which took a tenth off this model.
    -- The attribution columns (URLs, campaign) are wanted for a visit's first event only,
    -- which `landings` finds again by its row locator.
    select
        stitched.tenant_id,
        stitched.actor_id,
        stitched.message_id,
        {{ row_locator('stitched') }} as event_locator,
        stitched.occurred_at,
        stitched.resolved_user_id is not null as is_identified,
        stitched.message_type = 'page' as is_page_view,
        case stitched.event
            when 'Product Viewed' then 1
            when 'Product Added' then 2
            when 'Checkout Started' then 3
            when 'Order Completed' then 4
            else 0
        end as funnel_step
        {%- if is_incremental() %},
        restarts.kept_visits
        {%- endif %}
    from {{ ref('int_events_stitched') }} as stitched
    {% if is_incremental() %}
    inner join restarts
        on stitched.tenant_id = restarts.tenant_id
        and stitched.actor_id = restarts.actor_id
        and (restarts.restart_at is null or stitched.occurred_at >= restarts.restart_at)
    {% endif %}
    where not stitched.is_bot
      and stitched.is_internal is not true
      and stitched.anonymous_id is not null

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
        {% if is_incremental() %}kept_visits + {% endif %}sum(is_session_start) over (
            partition by tenant_id, actor_id
            order by occurred_at, message_id
            rows between unbounded preceding and current row
        ) as session_number
    from flagged

),

landings as (

    select
        numbered.tenant_id,
        numbered.actor_id,
        numbered.session_number,
        numbered.occurred_at as started_at,
        first_event.page_url as landing_page,
        first_event.referrer,
        first_event.utm_source,
        first_event.utm_medium,
        first_event.utm_campaign,
        first_event.country,
        first_event.device_type
    from numbered
    inner join {{ ref('int_events_stitched') }} as first_event
        on numbered.tenant_id = first_event.tenant_id
        and {{ located_row('first_event', 'numbered.event_locator') }}
    where numbered.is_session_start = 1

),

totals as (

    select
        tenant_id,
        actor_id,
        session_number,
        max(occurred_at) as ended_at,
        case when {{ dbt.bool_or('is_identified') }} then actor_id end as user_id,
        count(*) as event_count,
        count(case when is_page_view then 1 end) as page_views,
        count(case when funnel_step = 1 then 1 end) as product_views,
        count(case when funnel_step = 2 then 1 end) as cart_adds,
        count(case when funnel_step = 3 then 1 end) as checkouts,
        count(case when funnel_step = 4 then 1 end) as orders
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
        landings.device_type,
        {{ batch_stamp() }} as _batch_at
    from landings
    inner join totals
        on landings.tenant_id = totals.tenant_id
        and landings.actor_id = totals.actor_id
        and landings.session_number = totals.session_number

),

{% if is_incremental() %}
fewer as (

    -- People left with fewer visits than they had, and their new last visit's number.
    select
        restarts.tenant_id,
        restarts.actor_id,
        coalesce(max(sessions.session_number), restarts.kept_visits) as last_number
    from restarts
    left join sessions
        on restarts.tenant_id = sessions.tenant_id
        and restarts.actor_id = sessions.actor_id
    group by restarts.tenant_id, restarts.actor_id, restarts.stored_visits, restarts.kept_visits
    having restarts.stored_visits > coalesce(max(sessions.session_number), restarts.kept_visits)

),

tombstones as (

    -- Their stored visits past the new last one: a row with the same key, so that
    -- delete+insert drops them.
    select
        cast(null as {{ dbt.type_string() }}) as session_id,
        stored.tenant_id,
        stored.actor_id,
        {%- for column, type in visit_columns %}
        {% if column == 'session_number' -%}
        stored.session_number,
        {%- else -%}
        cast(null as {{ type }}) as {{ column }},
        {%- endif %}
        {%- endfor %}
        {{ batch_stamp() }} as _batch_at
    from fewer
    inner join {{ this }} as stored
        on fewer.tenant_id = stored.tenant_id
        and fewer.actor_id = stored.actor_id
    where stored.session_number > fewer.last_number

),
{% endif %}

final as (

    select * from sessions
    {% if is_incremental() %}
    union all
    select * from tombstones
    {% endif %}

)

select * from final

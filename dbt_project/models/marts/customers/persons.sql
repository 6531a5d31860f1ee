{#-
    Incremental: a person's row depends on all of their visits, orders and identify calls, so a
    run rebuilds the whole row of every person touched since this model's latest batch, and
    only those. Touched are, for the rows upstream wrote since that batch:
    - the actor and the previous actor (re-stitching) of every event int_events_stitched
      rewrote: new and late events, identify traits, devices moved to a user;
    - the people whose visits int_sessions rewrote;
    - every buyer an order ever had, for each order those events complete, refund or cancel.
      int_orders is a table of int_events_stitched's order events, rebuilt whole without a
      batch stamp: a late refund sent server-side under another id, or a duplicate Order
      Completed that now comes first (a new buyer), changes a row their own actor is not on.
    Rows are replaced by (tenant_id, person_id). A touched person left with nothing (their
    device now belongs to a user) gets a tombstone row, first_seen_at null, so delete+insert
    drops their old row, and the post-hook removes it: a real person always has a first visit,
    order or identify, and events always have a time. `--full-refresh` rebuilds everything.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['tenant_id', 'person_id'],
    on_schema_change='append_new_columns',
    post_hook="delete from {{ this }} where first_seen_at is null",
) }}

-- The person table: one row per person a tenant has seen, after identity stitching (a known
-- user with all their devices, else one anonymous device), crawlers excluded. Who they are
-- comes from their latest identify call's traits; what they did from their visits and orders.
-- People who only exist server-side (imported customers and orders) are persons too.

{#- Whether the row of the source aliased `source_rows` belongs to a touched person. -#}
{% set is_touched %}
exists (
          select 1 from changed
          where changed.tenant_id = source_rows.tenant_id
            and changed.actor_id = source_rows.actor_id
      )
{%- endset %}

with

{% if is_incremental() %}
{#- Read once: each call is a query. -#}
{% set since = latest_batch(this) %}
rewritten as (

    select tenant_id, actor_id, previous_actor_id, event, order_id
    from {{ ref('int_events_stitched') }}
    where _batch_at > {{ since }}

),

changed_orders as (

    select distinct tenant_id, order_id
    from rewritten
    where order_id is not null
      and event in ('Order Completed', 'Order Refunded', 'Order Cancelled')

),

changed as (

    select tenant_id, actor_id from rewritten
    union
    select tenant_id, previous_actor_id as actor_id
    from rewritten
    where previous_actor_id is not null
    union
    select tenant_id, actor_id
    from {{ ref('int_sessions') }}
    where _batch_at > {{ since }}
    union
    -- Every buyer an order ever had: its first Order Completed may have changed.
    select completed.tenant_id, completed.actor_id
    from {{ ref('int_events_stitched') }} as completed
    inner join changed_orders
        on completed.tenant_id = changed_orders.tenant_id
        and completed.order_id = changed_orders.order_id
    where completed.event = 'Order Completed'

),
{% endif %}

sessions as (

    select * from {{ ref('int_sessions') }} as source_rows
    {% if is_incremental() %}
    where {{ is_touched }}
    {% endif %}

),

orders as (

    select * from {{ ref('int_orders') }} as source_rows
    {% if is_incremental() %}
    where {{ is_touched }}
    {% endif %}

),

identifies as (

    select
        tenant_id,
        actor_id,
        resolved_user_id as user_id,
        occurred_at,
        trait_email,
        trait_first_name,
        trait_last_name,
        trait_name,
        trait_phone,
        row_number() over (
            partition by tenant_id, actor_id
            order by occurred_at desc, received_at desc, message_id desc
        ) as recency_rank
    from {{ ref('int_events_stitched') }} as source_rows
    where message_type = 'identify'
      and not is_bot
      {% if is_incremental() %}
      and {{ is_touched }}
      {% endif %}

),

visits as (

    select
        tenant_id,
        actor_id,
        max(user_id) as user_id,
        count(*) as sessions,
        min(started_at) as first_visit_at,
        max(ended_at) as last_visit_at,
        sum(product_views) as product_views,
        sum(cart_adds) as cart_adds,
        sum(checkouts) as checkouts,
        max(case when cart_adds > 0 and orders = 0 then started_at end)
            as last_abandoned_cart_at,
        max(case when checkouts > 0 and orders = 0 then started_at end)
            as last_abandoned_checkout_at
    from sessions
    group by 1, 2

),

purchases as (

    select
        tenant_id,
        actor_id,
        max(user_id) as user_id,
        count(*) as all_orders,
        count(case when refunded_share < 1 then 1 end) as orders,
        count(case when refund_count > 0 or cancelled_at is not null then 1 end)
            as refunded_orders,
        count(case when refunded_share < 1 and coupon is not null then 1 end) as coupon_orders,
        sum(net_revenue) as net_revenue,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at
    from orders
    group by 1, 2

),

identity as (

    select
        tenant_id,
        actor_id,
        min(occurred_at) as first_identified_at
    from identifies
    group by 1, 2

),

people as (

    select tenant_id, actor_id from visits
    union
    select tenant_id, actor_id from purchases
    union
    select tenant_id, actor_id from identity
    {% if is_incremental() %}
    union
    -- Touched people with nothing left: a tombstone row (first_seen_at null).
    select tenant_id, actor_id from changed
    {% endif %}

),

final as (

    select
        people.tenant_id,
        people.actor_id as person_id,
        coalesce(latest.user_id, visits.user_id, purchases.user_id) as user_id,
        coalesce(latest.user_id, visits.user_id, purchases.user_id) is not null
            as is_identified,
        latest.trait_email as email,
        latest.trait_first_name as first_name,
        latest.trait_last_name as last_name,
        coalesce(
            latest.trait_name,
            nullif(
                trim(
                    coalesce(latest.trait_first_name, '') || ' '
                    || coalesce(latest.trait_last_name, '')
                ),
                ''
            )
        ) as full_name,
        latest.trait_phone as phone,
        identity.first_identified_at,
        {{ least_timestamp([
            'visits.first_visit_at', 'purchases.first_order_at', 'identity.first_identified_at'
        ]) }} as first_seen_at,
        {{ greatest_timestamp([
            'visits.last_visit_at', 'purchases.last_order_at', 'latest.occurred_at'
        ]) }} as last_seen_at,
        coalesce(visits.sessions, 0) as sessions,
        coalesce(visits.product_views, 0) as product_views,
        coalesce(visits.cart_adds, 0) as cart_adds,
        coalesce(visits.checkouts, 0) as checkouts,
        visits.last_abandoned_cart_at,
        visits.last_abandoned_checkout_at,
        coalesce(purchases.all_orders, 0) as all_orders,
        coalesce(purchases.orders, 0) as orders,
        coalesce(purchases.refunded_orders, 0) as refunded_orders,
        coalesce(purchases.coupon_orders, 0) as coupon_orders,
        cast(coalesce(purchases.net_revenue, 0) as {{ type_money() }}) as net_revenue,
        purchases.first_order_at,
        purchases.last_order_at,
        {{ batch_stamp() }} as _batch_at
    from people
    left join visits
        on people.tenant_id = visits.tenant_id
        and people.actor_id = visits.actor_id
    left join purchases
        on people.tenant_id = purchases.tenant_id
        and people.actor_id = purchases.actor_id
    left join identity
        on people.tenant_id = identity.tenant_id
        and people.actor_id = identity.actor_id
    left join identifies as latest
        on people.tenant_id = latest.tenant_id
        and people.actor_id = latest.actor_id
        and latest.recency_rank = 1

)

select * from final

{{ config(materialized='table') }}

-- One row per completed order. A client that sent Order Completed twice for one order_id (under
-- different message ids) counts once, at its first occurrence. Refunds (Order Refunded, any
-- number of them, partial or full) take back their share of the order's `total`, applied to its
-- revenue: Segment's refund amount includes tax and shipping while `revenue` does not, so
-- subtracting amounts directly would mix the two bases. A cancelled order (Order Cancelled)
-- takes back everything: it never shipped.

with

events as (

    select * from {{ ref('int_events_stitched') }}

),

completed as (

    select
        tenant_id,
        order_id,
        message_id,
        actor_id,
        resolved_user_id as user_id,
        occurred_at as ordered_at,
        revenue,
        order_total,
        currency,
        coupon,
        country,
        device_type,
        row_number() over (
            partition by tenant_id, order_id
            order by occurred_at, received_at, message_id
        ) as occurrence
    from events
    where event = 'Order Completed'
      and order_id is not null

),

refunds as (

    select
        tenant_id,
        order_id,
        count(*) as refund_count,
        sum(coalesce(order_total, revenue)) as refunded_amount,
        max(occurred_at) as last_refunded_at
    from events
    where event = 'Order Refunded'
      and order_id is not null
    group by tenant_id, order_id

),

cancellations as (

    select tenant_id, order_id, min(occurred_at) as cancelled_at
    from events
    where event = 'Order Cancelled'
      and order_id is not null
    group by tenant_id, order_id

),

orders as (

    select
        completed.tenant_id,
        completed.order_id,
        completed.message_id,
        completed.actor_id,
        completed.user_id,
        completed.ordered_at,
        completed.currency,
        completed.coupon,
        completed.country,
        completed.device_type,
        coalesce(completed.revenue, 0) as gross_revenue,
        completed.order_total,
        coalesce(refunds.refund_count, 0) as refund_count,
        coalesce(refunds.refunded_amount, 0) as refunded_amount,
        refunds.last_refunded_at,
        cancellations.cancelled_at,
        case
            when cancellations.cancelled_at is not null then 1
            when refunds.refunded_amount is null then 0
            when coalesce(completed.order_total, completed.revenue, 0) <= 0 then 1
            when refunds.refunded_amount >= coalesce(completed.order_total, completed.revenue)
                then 1
            else refunds.refunded_amount / coalesce(completed.order_total, completed.revenue)
        end as refunded_share
    from completed
    left join refunds
        on completed.tenant_id = refunds.tenant_id
        and completed.order_id = refunds.order_id
    left join cancellations
        on completed.tenant_id = cancellations.tenant_id
        and completed.order_id = cancellations.order_id
    where completed.occurrence = 1

),

final as (

    select
        *,
        cast(gross_revenue * (1 - refunded_share) as {{ type_money() }}) as net_revenue
    from orders

)

select * from final

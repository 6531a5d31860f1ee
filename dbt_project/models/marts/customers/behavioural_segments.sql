-- Behavioural segments: one row per person and segment they are in (a person can be in
-- several, or none). What campaigns target: browsers who never bought, abandoned carts and
-- checkouts (a visit with a cart add or a checkout and no order, after their last order),
-- discount seekers (a coupon on at least half of their orders), one-time and repeat buyers,
-- lapsed customers (no order for var('lapsed_after_days') days) and frequent returners (half
-- of at least two orders refunded or cancelled). "Now" is the tenant's latest activity, not
-- the wall clock, so the same data always segments the same.

{% set lapsed_after_days = var('lapsed_after_days') %}

with

persons as (

    select * from {{ ref('persons') }}

),

tenant_now as (

    select tenant_id, max(last_seen_at) as as_of
    from persons
    group by tenant_id

),

flagged as (

    select
        persons.*,
        tenant_now.as_of,
        {{ dbt.datediff('persons.last_order_at', 'tenant_now.as_of', 'day') }}
            as days_since_last_order
    from persons
    inner join tenant_now
        on persons.tenant_id = tenant_now.tenant_id

),

{% set segments = {
    'browsers_without_purchase': 'product_views > 0 and all_orders = 0',
    'cart_abandoners':
        'last_abandoned_cart_at is not null and (last_order_at is null'
        ~ ' or last_abandoned_cart_at > last_order_at)',
    'checkout_abandoners':
        'last_abandoned_checkout_at is not null and (last_order_at is null'
        ~ ' or last_abandoned_checkout_at > last_order_at)',
    'discount_seekers': 'orders > 0 and coupon_orders * 2 >= orders',
    'one_time_buyers': 'orders = 1',
    'repeat_buyers': 'orders >= 2',
    'lapsed_customers':
        'orders > 0 and days_since_last_order >= ' ~ lapsed_after_days,
    'frequent_returners': 'all_orders >= 2 and refunded_orders * 2 >= all_orders',
} %}

segmented as (

    {% for segment, condition in segments.items() %}
    select
        tenant_id,
        person_id,
        user_id,
        '{{ segment }}' as segment,
        as_of
    from flagged
    where {{ condition }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from segmented

{{ config(materialized='table') }}

-- One row per product a track event names: the single product of product events
-- (properties.product_id) and each element of properties.products[] of cart, checkout, order
-- and list events. Both the catalogue (`products`) and the interest signal
-- (`int_product_interactions`) are read from here, so the JSON arrays are unnested once.

{% set list_events = [
    'Product List Viewed', 'Product List Filtered', 'Cart Viewed', 'Checkout Started',
    'Order Completed', 'Order Updated', 'Order Refunded', 'Order Cancelled',
] %}

with

events as (

    select * from {{ ref('int_events_stitched') }}
    where message_type = 'track'

),

single_products as (

    select
        tenant_id,
        message_id,
        event,
        actor_id,
        user_id,
        occurred_at,
        is_bot,
        currency,
        product_id,
        product_name,
        category,
        brand,
        price,
        quantity,
        'property' as mentioned_in
    from events
    where product_id is not null
      and event not in ({{ "'" ~ (list_events | join("', '")) ~ "'" }})

),

list_elements as (

    select
        tenant_id,
        message_id,
        event,
        actor_id,
        user_id,
        occurred_at,
        is_bot,
        currency,
        {{ json_array_elements('products') }} as product
    from events
    where event in ({{ "'" ~ (list_events | join("', '")) ~ "'" }})

),

list_products as (

    select
        tenant_id,
        message_id,
        event,
        actor_id,
        user_id,
        occurred_at,
        is_bot,
        currency,
        {{ json_text('product', 'product_id') }} as product_id,
        {{ json_text('product', 'name') }} as product_name,
        {{ json_text('product', 'category') }} as category,
        {{ json_text('product', 'brand') }} as brand,
        {{ number_or_null(json_text('product', 'price'), type_money()) }} as price,
        cast(
            {{ number_or_null(json_text('product', 'quantity'), dbt.type_numeric(), max_abs=1e9) }}
            as {{ dbt.type_int() }}
        ) as quantity,
        'products' as mentioned_in
    from list_elements

),

mentions as (

    select * from single_products
    union all
    select * from list_products where product_id is not null

)

select * from mentions

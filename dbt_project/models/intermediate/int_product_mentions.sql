{#-
    Incremental: unnesting products[] is the costly part, so a run unnests only the events
    int_events_stitched rewrote since this model's latest batch (new, late, and re-stitched to
    another person), replacing their rows by (tenant_id, message_id).
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['tenant_id', 'message_id'],
    on_schema_change='append_new_columns',
) }}

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
    {% if is_incremental() %}
      and _batch_at > {{ latest_batch(this) }}
    {% endif %}

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
        order_id,
        recommendation_id,
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
        order_id,
        recommendation_id,
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
        order_id,
        -- A line quotes the recommendation it came from; else the event may, for every line.
        coalesce({{ json_text('product', 'recommendation_id') }}, recommendation_id)
            as recommendation_id,
        'products' as mentioned_in
    from list_elements

),

mentions as (

    select * from single_products
    union all
    select * from list_products where product_id is not null

)

select mentions.*, {{ batch_stamp() }} as _batch_at from mentions

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

{% set line_paths = [
    'product_id', 'name', 'category', 'brand', 'price', 'quantity', 'recommendation_id',
] %}
{% set line = {} %}
{% for path in line_paths %}
    {% do line.update({path: json_extracted('line_values', line_paths, path)}) %}
{% endfor %}

with

events as not materialized (

    -- Read by both branches below, each for its own events and columns: as a materialized
    -- CTE, every column of every track event would be copied first (a quarter of this model).
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
      -- a price experiment's exposure names the product whose price was shown: not a touch
      and event <> 'Experiment Viewed'

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
        -- each line's fields, in one pass over its JSON (one parse, not one per field)
        {{ json_array_elements_extracted('products', line_paths) }} as line_values
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
        {{ line['product_id'] }} as product_id,
        {{ line['name'] }} as product_name,
        {{ line['category'] }} as category,
        {{ line['brand'] }} as brand,
        {{ number_or_null(line['price'], type_money()) }} as price,
        cast(
            {{ number_or_null(line['quantity'], dbt.type_numeric(), max_abs=1e9) }}
            as {{ dbt.type_int() }}
        ) as quantity,
        order_id,
        -- A line quotes the recommendation it came from; else the event may, for every line.
        coalesce({{ line['recommendation_id'] }}, recommendation_id)
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

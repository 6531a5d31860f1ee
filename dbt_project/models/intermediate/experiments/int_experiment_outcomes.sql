{#- A table: five data tests and the experiments asset read it, and as a view each of them
    joined the orders with every product mention again (0.2 s apiece on 10M events). -#}
{{ config(materialized='table') }}

-- The orders experiments measure, as revenue lines: one row per product of each completed
-- order (its price x quantity, minus the order's refunded share) and one remainder row per
-- order (product_id null) with what the product lines do not account for (shipping-free
-- revenue differences, discounts, orders sent without products[]). An order's rows always sum
-- to its net_revenue in int_orders, so:
--
-- - a price experiment counts only the lines of the products it priced (the remainder has no
--   product and never matches an exposure);
-- - every other experiment sums an order's rows (intellishop.experiments.attribution) and gets
--   int_orders' net revenue, every order counted once, lines or not.

with

orders as (

    select * from {{ ref('int_orders') }}

),

mentions as (

    select * from {{ ref('int_product_mentions') }}

),

product_lines as (

    -- The lines of the Order Completed that int_orders counts (its message), not of a repeat.
    select
        orders.tenant_id,
        orders.order_id,
        mentions.product_id,
        cast(
            sum(coalesce(mentions.price, 0) * coalesce(mentions.quantity, 1))
            * (1 - max(orders.refunded_share))
            as {{ type_money() }}
        ) as revenue
    from orders
    inner join mentions
        on orders.tenant_id = mentions.tenant_id
        and orders.message_id = mentions.message_id
    where mentions.event = 'Order Completed'
      and mentions.product_id is not null
    group by orders.tenant_id, orders.order_id, mentions.product_id

),

line_totals as (

    select tenant_id, order_id, sum(revenue) as lines_revenue
    from product_lines
    group by tenant_id, order_id

),

lines as (

    select
        orders.tenant_id,
        orders.order_id,
        orders.actor_id as unit_id,
        orders.ordered_at,
        product_lines.product_id,
        product_lines.revenue
    from orders
    inner join product_lines
        on orders.tenant_id = product_lines.tenant_id
        and orders.order_id = product_lines.order_id

    union all

    select
        orders.tenant_id,
        orders.order_id,
        orders.actor_id as unit_id,
        orders.ordered_at,
        cast(null as {{ dbt.type_string() }}) as product_id,
        cast(
            orders.net_revenue - coalesce(line_totals.lines_revenue, 0) as {{ type_money() }}
        ) as revenue
    from orders
    left join line_totals
        on orders.tenant_id = line_totals.tenant_id
        and orders.order_id = line_totals.order_id

)

select * from lines

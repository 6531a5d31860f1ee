-- What the recommendations earned, per tenant-local day and algorithm. The serving API logs
-- each answer as a "Recommendations Served" track event (recommendation_id, algorithm,
-- product_ids); shops send Product Clicked / Product Added / Order Completed, whose event
-- properties or product lines may quote the recommendation_id they came from.
--
-- An order line is attributed to a recommendation when the line (or its order event) quotes
-- it, else when the same person clicked that product from a recommendation within
-- var('attribution_window_days') days before the order (the latest such click wins). Revenue is
-- the line's price x quantity, counted on the order's day. Each count lands on the day it
-- happened, under the algorithm of the recommendation it names (unknown when the serve was
-- never logged). Crawlers are left out.

{% set window_days = var('attribution_window_days') %}

with

tenants as (

    select * from {{ ref('stg_collector__tenants') }}

),

events as (

    select * from {{ ref('int_events_stitched') }}
    where not is_bot
      and event in ('Recommendations Served', 'Product Clicked', 'Product Added')

),

served as (

    select
        tenant_id,
        recommendation_id,
        recommendation_algorithm as algorithm,
        occurred_at,
        {{ json_array_length('recommended_product_ids') }} as products_served,
        row_number() over (
            partition by tenant_id, recommendation_id
            order by occurred_at, message_id
        ) as occurrence
    from events
    where event = 'Recommendations Served'
      and recommendation_id is not null

),

algorithms as (

    select tenant_id, recommendation_id, coalesce(algorithm, 'unknown') as algorithm
    from served
    where occurrence = 1

),

clicks as (

    select tenant_id, actor_id, product_id, recommendation_id, occurred_at, event
    from events
    where event in ('Product Clicked', 'Product Added')
      and recommendation_id is not null
      and product_id is not null

),

order_lines as (

    select
        tenant_id,
        actor_id,
        order_id,
        message_id,
        product_id,
        recommendation_id as quoted_recommendation_id,
        coalesce(quantity, 1) as quantity,
        coalesce(price, 0) * coalesce(quantity, 1) as line_revenue,
        occurred_at,
        row_number() over (
            partition by tenant_id, message_id
            order by product_id, recommendation_id, quantity, price
        ) as line_number
    from {{ ref('int_product_mentions') }}
    where event = 'Order Completed'
      and mentioned_in = 'products'
      and not is_bot

),

first_orders as (

    -- A re-sent Order Completed (another message id, same order) counts once: its first.
    select tenant_id, order_id, message_id
    from {{ ref('int_orders') }}

),

clicked_lines as (

    -- Lines that quote nothing: the latest recommendation click of the same product by the
    -- same person within the window before the order.
    select
        order_lines.tenant_id,
        order_lines.message_id,
        order_lines.line_number,
        clicks.recommendation_id,
        row_number() over (
            partition by order_lines.tenant_id, order_lines.message_id, order_lines.line_number
            order by clicks.occurred_at desc, clicks.recommendation_id
        ) as click_rank
    from order_lines
    inner join clicks
        on order_lines.tenant_id = clicks.tenant_id
        and order_lines.actor_id = clicks.actor_id
        and order_lines.product_id = clicks.product_id
        and clicks.event = 'Product Clicked'
        and clicks.occurred_at <= order_lines.occurred_at
        and clicks.occurred_at > {{ dbt.dateadd('day', -window_days, 'order_lines.occurred_at') }}
    where order_lines.quoted_recommendation_id is null

),

attributed_lines as (

    select
        order_lines.tenant_id,
        order_lines.order_id,
        order_lines.occurred_at,
        order_lines.quantity,
        order_lines.line_revenue,
        coalesce(order_lines.quoted_recommendation_id, clicked_lines.recommendation_id)
            as recommendation_id
    from order_lines
    inner join first_orders
        on order_lines.tenant_id = first_orders.tenant_id
        and order_lines.message_id = first_orders.message_id
    left join clicked_lines
        on order_lines.tenant_id = clicked_lines.tenant_id
        and order_lines.message_id = clicked_lines.message_id
        and order_lines.line_number = clicked_lines.line_number
        and clicked_lines.click_rank = 1
    where coalesce(order_lines.quoted_recommendation_id, clicked_lines.recommendation_id)
        is not null

),

{#- One row per measured thing: its tenant, instant, recommendation and contribution. -#}
facts as (

    select
        tenant_id, occurred_at, recommendation_id,
        1 as served, products_served, 0 as clicks, 0 as add_to_carts,
        cast(null as {{ dbt.type_string() }}) as order_id,
        0 as attributed_lines, 0 as attributed_units,
        cast(0 as {{ type_money() }}) as attributed_revenue
    from served

    union all

    select
        tenant_id, occurred_at, recommendation_id,
        0, 0,
        case when event = 'Product Clicked' then 1 else 0 end,
        case when event = 'Product Added' then 1 else 0 end,
        cast(null as {{ dbt.type_string() }}),
        0, 0, cast(0 as {{ type_money() }})
    from clicks

    union all

    select
        tenant_id, occurred_at, recommendation_id,
        0, 0, 0, 0,
        order_id,
        1, quantity, cast(line_revenue as {{ type_money() }})
    from attributed_lines

),

localised as (

    select
        facts.*,
        coalesce(algorithms.algorithm, 'unknown') as algorithm,
        cast(
            {{ to_local_time('facts.occurred_at', "coalesce(tenants.timezone, 'UTC')") }}
            as date
        ) as metric_date
    from facts
    left join algorithms
        on facts.tenant_id = algorithms.tenant_id
        and facts.recommendation_id = algorithms.recommendation_id
    left join tenants
        on facts.tenant_id = tenants.tenant_id

),

final as (

    select
        tenant_id,
        metric_date,
        algorithm,
        sum(served) as served,
        sum(products_served) as products_served,
        sum(clicks) as clicks,
        sum(add_to_carts) as add_to_carts,
        count(distinct order_id) as orders,
        sum(attributed_lines) as attributed_lines,
        sum(attributed_units) as attributed_units,
        cast(sum(attributed_revenue) as {{ type_money() }}) as attributed_revenue,
        cast(sum(clicks) as {{ type_ratio() }}) / nullif(sum(served), 0)
            as clicks_per_serve
    from localised
    group by 1, 2, 3

)

select * from final

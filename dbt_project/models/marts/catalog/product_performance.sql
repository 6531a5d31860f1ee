{#-
    A table rebuilt whole on every run, not incremental: one day's events mention nearly every
    product (1,196 of 1,200 on the 10M-event benchmark), and viewers and buyers are distinct
    people, whom re-stitching moves between ids, so they cannot be added up from new events. The
    rebuild is kept cheap instead: the mentions are read as a view of their columns (not
    copied), sums come from one pass, and distinct viewers and orders are counted over the few
    rows that can hold them (product views, completed orders) rather than over every mention.
-#}

-- Each product's commercial record per tenant: interest (views, cart adds), sales (orders,
-- units, revenue at the price on the order) and returns (units refunded). Crawlers are left
-- out. The return rate is refunded units over purchased units, from the products listed on
-- Order Refunded events (a refund without a product list takes back money, not units).

with

mentions as not materialized (

    select * from {{ ref('int_product_mentions') }}
    where not is_bot

),

products as (

    select * from {{ ref('products') }}

),

totals as (

    -- Every product a person mentioned has a row, even with no view, add or order.
    select
        tenant_id,
        product_id,
        count(case when event = 'Product Viewed' then 1 end) as views,
        count(case when event = 'Product Added' then 1 end) as cart_adds,
        sum(case when event = 'Order Completed' then coalesce(quantity, 1) else 0 end)
            as units_sold,
        sum(
            case
                when event = 'Order Completed' then coalesce(price, 0) * coalesce(quantity, 1)
                else 0
            end
        ) as revenue,
        sum(case when event = 'Order Refunded' then coalesce(quantity, 1) else 0 end)
            as units_refunded
    from mentions
    group by tenant_id, product_id

),

viewers as (

    -- Distinct (product, person) pairs first: one hash table, not one distinct set per product.
    select tenant_id, product_id, count(*) as viewers
    from (
        select distinct tenant_id, product_id, actor_id
        from mentions
        where event = 'Product Viewed'
    ) as viewings
    group by tenant_id, product_id

),

sales as (

    select
        tenant_id,
        product_id,
        count(distinct message_id) as orders,
        count(distinct actor_id) as buyers
    from mentions
    where event = 'Order Completed'
    group by tenant_id, product_id

),

activity as (

    select
        totals.tenant_id,
        totals.product_id,
        totals.views,
        coalesce(viewers.viewers, 0) as viewers,
        totals.cart_adds,
        coalesce(sales.orders, 0) as orders,
        coalesce(sales.buyers, 0) as buyers,
        totals.units_sold,
        totals.revenue,
        totals.units_refunded
    from totals
    left join viewers
        on totals.tenant_id = viewers.tenant_id
        and totals.product_id = viewers.product_id
    left join sales
        on totals.tenant_id = sales.tenant_id
        and totals.product_id = sales.product_id

),

final as (

    select
        activity.tenant_id,
        activity.product_id,
        products.name,
        products.category,
        products.brand,
        products.price,
        activity.views,
        activity.viewers,
        activity.cart_adds,
        cast(activity.cart_adds as {{ type_ratio() }}) / nullif(activity.views, 0)
            as add_to_cart_rate,
        activity.orders,
        activity.buyers,
        activity.units_sold,
        cast(activity.revenue as {{ type_money() }}) as revenue,
        activity.units_refunded,
        cast(activity.units_refunded as {{ type_ratio() }}) / nullif(activity.units_sold, 0)
            as return_rate
    from activity
    left join products
        on activity.tenant_id = products.tenant_id
        and activity.product_id = products.product_id

)

select * from final

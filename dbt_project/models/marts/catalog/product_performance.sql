-- Each product's commercial record per tenant: interest (views, cart adds), sales (orders,
-- units, revenue at the price on the order) and returns (units refunded). Crawlers are left
-- out. The return rate is refunded units over purchased units, from the products listed on
-- Order Refunded events (a refund without a product list takes back money, not units).

with

mentions as (

    select * from {{ ref('int_product_mentions') }}
    where not is_bot

),

products as (

    select * from {{ ref('products') }}

),

activity as (

    select
        tenant_id,
        product_id,
        count(case when event = 'Product Viewed' then 1 end) as views,
        count(distinct case when event = 'Product Viewed' then actor_id end) as viewers,
        count(case when event = 'Product Added' then 1 end) as cart_adds,
        count(distinct case when event = 'Order Completed' then message_id end) as orders,
        count(distinct case when event = 'Order Completed' then actor_id end) as buyers,
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
    group by 1, 2

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

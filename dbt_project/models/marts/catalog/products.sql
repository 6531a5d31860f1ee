-- The catalogue as the shop's own events describe it: one row per product, with the attributes
-- of its latest complete sighting (name and price present) by a person, else of its latest
-- sighting (crawlers last: anyone can claim to be one). There is no catalogue feed yet; what
-- shoppers saw is what the shop sells.

with

mentions as (

    select * from {{ ref('int_product_mentions') }}

),

ranked as (

    select
        tenant_id,
        product_id,
        product_name,
        category,
        brand,
        price,
        currency,
        row_number() over (
            partition by tenant_id, product_id
            order by
                case when is_bot then 1 else 0 end,
                case when product_name is not null and price is not null then 0 else 1 end,
                occurred_at desc,
                message_id desc
        ) as recency_rank,
        min(occurred_at) over (partition by tenant_id, product_id) as first_seen_at,
        max(occurred_at) over (partition by tenant_id, product_id) as last_seen_at,
        count(*) over (partition by tenant_id, product_id) as mentions
    from mentions

),

final as (

    select
        tenant_id,
        product_id,
        product_name as name,
        category,
        brand,
        price,
        currency,
        first_seen_at,
        last_seen_at,
        mentions
    from ranked
    where recency_rank = 1

)

select * from final

{#-
    A table rebuilt whole on every run, not incremental: one day's events mention nearly every
    product (1,196 of 1,200 on the 10M-event benchmark), so rebuilding only the touched
    products would still read almost all mentions, and the imported catalogue has no batch
    stamp (a rebuild always has its latest import). Instead one pass aggregates every
    product's mentions (counts, first and last sighting, and the latest time of each sighting
    class), and a second picks the sighting at the best class's latest time: two scans of
    int_product_mentions, no window over all of them.
-#}

-- The catalogue: one row per product a tenant sells. The imported catalogue (stg_imports__
-- products) is the shop's own word and wins for name, category, brand and price; what events
-- said fills in the rest, and describes products the shop never imported. For the event side,
-- the attributes of the latest complete sighting (name and price present) by a person win,
-- else of the latest sighting (crawlers last: anyone can claim to be one).

with

mentions as not materialized (

    select * from {{ ref('int_product_mentions') }}

),

catalog as (

    select * from {{ ref('stg_imports__products') }}

),

classified as not materialized (

    -- How good a sighting is: people before crawlers, complete (name and price) first.
    select
        mentions.*,
        (case when is_bot then 2 else 0 end)
        + (case when product_name is not null and price is not null then 0 else 1 end)
            as sighting_class
    from mentions

),

summary as (

    -- One pass over every mention: the latest sighting of each class comes with the totals.
    select
        tenant_id,
        product_id,
        min(sighting_class) as best_class,
        {%- for class in range(4) %}
        max(case when sighting_class = {{ class }} then occurred_at end) as latest_{{ class }},
        {%- endfor %}
        min(occurred_at) as first_seen_at,
        max(occurred_at) as last_seen_at,
        count(*) as mentions
    from classified
    group by tenant_id, product_id

),

best_time as (

    -- The latest sighting of the best class.
    select
        tenant_id,
        product_id,
        best_class,
        case best_class
            {%- for class in range(4) %}
            when {{ class }} then latest_{{ class }}
            {%- endfor %}
        end as seen_at,
        first_seen_at,
        last_seen_at,
        mentions
    from summary

),

ranked as (

    -- The sightings at that time (a handful per product; the latest message id wins).
    select
        classified.tenant_id,
        classified.product_id,
        classified.product_name,
        classified.category,
        classified.brand,
        classified.price,
        classified.currency,
        best_time.first_seen_at,
        best_time.last_seen_at,
        best_time.mentions,
        row_number() over (
            partition by classified.tenant_id, classified.product_id
            order by classified.message_id desc
        ) as recency_rank
    from classified
    inner join best_time
        on classified.tenant_id = best_time.tenant_id
        and classified.product_id = best_time.product_id
        and classified.sighting_class = best_time.best_class
        and classified.occurred_at = best_time.seen_at

),

seen as (

    select * from ranked where recency_rank = 1

),

final as (

    select
        coalesce(catalog.tenant_id, seen.tenant_id) as tenant_id,
        coalesce(catalog.product_id, seen.product_id) as product_id,
        coalesce(catalog.product_name, seen.product_name) as name,
        coalesce(catalog.category, seen.category) as category,
        coalesce(catalog.brand, seen.brand) as brand,
        case when catalog.price is not null then catalog.price else seen.price end as price,
        case
            when catalog.price is not null then catalog.currency else seen.currency
        end as currency,
        catalog.sku,
        catalog.product_id is not null as in_catalog,
        seen.first_seen_at,
        seen.last_seen_at,
        coalesce(seen.mentions, 0) as mentions
    from seen
    full outer join catalog
        on seen.tenant_id = catalog.tenant_id
        and seen.product_id = catalog.product_id

)

select * from final

{#- A view: a filter of int_product_mentions (incremental), read once per pipeline run. -#}
{{ config(materialized='view') }}

-- The recommenders' input (docs/contracts.md): one row per product touch by a person. List
-- impressions (a product shown in a category page or search result) are not touches, and
-- crawlers are not people. A touch without a quantity counts once.

with

mentions as (

    select * from {{ ref('int_product_mentions') }}

),

interactions as (

    select
        tenant_id,
        actor_id,
        user_id,
        product_id,
        category,
        event,
        coalesce(quantity, 1) as quantity,
        occurred_at
    from mentions
    where not is_bot
      and event not in ('Product List Viewed', 'Product List Filtered')

)

select * from interactions

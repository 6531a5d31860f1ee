-- One row per "Experiment Viewed" event (an exposure, logged by intellishop.experiments where
-- the variant was shown): the frame intellishop.experiments.evaluation reads, one row per
-- sighting. The unit is the stitched person (actor_id), the same id int_orders credits orders
-- to, so someone exposed anonymously who logs in to buy is counted once, with the order.

with

events as (

    select * from {{ ref('int_events_stitched') }}
    where message_type = 'track'
      and event = 'Experiment Viewed'
      and experiment_id is not null
      and variation_id is not null

),

exposures as (

    select
        tenant_id,
        experiment_id,
        actor_id as unit_id,
        variation_id as variant_id,
        occurred_at as exposed_at,
        -- price experiments: the product whose price was shown
        product_id,
        -- email experiments: the campaign's conversion window, in days
        cast(window_days as {{ dbt.type_int() }}) as window_days,
        message_id
    from events

)

select * from exposures

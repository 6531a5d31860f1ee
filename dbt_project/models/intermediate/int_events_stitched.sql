{{ config(materialized='table') }}

-- Every event with the person it belongs to. The identity map applies retroactively: a
-- visitor's anonymous browsing before they logged in is credited to their user id, so their
-- history, sessions and recommendations include it.

with

events as (

    select * from {{ ref('stg_collector__events') }}

),

identity_map as (

    select * from {{ ref('int_identity_map') }}

),

stitched as (

    select
        events.*,
        coalesce(events.user_id, identity_map.user_id) as resolved_user_id,
        coalesce(events.user_id, identity_map.user_id, events.anonymous_id) as actor_id
    from events
    left join identity_map
        on events.tenant_id = identity_map.tenant_id
        and events.anonymous_id = identity_map.anonymous_id

)

select * from stitched

{#- A table: int_events_stitched reads it twice per run (fresh events and re-stitching) and its
    tests once more; as a view each would re-rank every link. -#}
{{ config(materialized='table') }}

-- Which known user each anonymous id (a browser or app install) belongs to. A link comes from
-- any event carrying both ids (identify after login, and everything after it on that device)
-- and from Segment alias calls. A shared device can link to several users: the latest wins.

with

events as (

    select * from {{ ref('stg_collector__events') }}

),

links as (

    select
        tenant_id,
        anonymous_id,
        user_id,
        occurred_at,
        received_at
    from events
    where anonymous_id is not null
      and user_id is not null
      and is_internal is not true

    union all

    select
        tenant_id,
        previous_id as anonymous_id,
        user_id,
        occurred_at,
        received_at
    from events
    where message_type = 'alias'
      and previous_id is not null
      and user_id is not null

),

ranked as (

    select
        tenant_id,
        anonymous_id,
        user_id,
        occurred_at,
        row_number() over (
            partition by tenant_id, anonymous_id
            order by occurred_at desc, received_at desc, user_id
        ) as recency_rank,
        min(occurred_at) over (partition by tenant_id, anonymous_id) as first_linked_at
    from links

)

select
    tenant_id,
    anonymous_id,
    user_id,
    first_linked_at,
    occurred_at as last_linked_at
from ranked
where recency_rank = 1

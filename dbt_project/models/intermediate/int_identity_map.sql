{#-
    A table: int_events_stitched reads it twice per run (fresh events and re-stitching) and its
    tests once more; as a view each would re-rank every link.

    Incremental: a device's row is the latest of its links and the earliest link time, so a
    run ranks the links received since the newest one stored (less the lookback) together with
    the stored rows of the same devices, which stand for every earlier link (the stored winner
    beat them all; ties go the same way because the winner's arrival time is kept,
    `last_link_received_at`). A link read twice (the lookback, a retried message's copies:
    same user, same instant) ranks the same. Rows are replaced by (tenant_id, anonymous_id).
    `--full-refresh` ranks every link again.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['tenant_id', 'anonymous_id'],
    on_schema_change='append_new_columns',
    post_hook="{{ analyze_relation(this) }}",
) }}

-- Which known user each anonymous id (a browser or app install) belongs to. A link comes from
-- any event carrying both ids (identify after login, and everything after it on that device)
-- and from Segment alias calls. A shared device can link to several users: the latest wins.

with

events as not materialized (

    -- Read twice below (links, alias calls); not materialized, so that each read takes only
    -- its own rows and columns from the staging view (PostgreSQL would otherwise store every
    -- event with its JSON parsed first: 31.7 s of 36.7 s on 1M events, docs/benchmarks.md).
    select * from {{ ref('stg_collector__events') }}
    {% if is_incremental() %}
    -- What the collector received since the newest link stored, minus the same margin for
    -- late commits as stitching's (a link read twice ranks the same).
    where received_at > {{ dbt.dateadd(
        'hour', -var('late_arrival_hours'), latest_stamp(this, 'last_link_received_at')
    ) }}
    {% endif %}

),

new_links as (

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

links as (

    select *, occurred_at as first_linked_at from new_links

    {% if is_incremental() %}
    union all

    -- What the devices that got new links already had: their winning link and first time.
    select
        stored.tenant_id,
        stored.anonymous_id,
        stored.user_id,
        stored.last_linked_at as occurred_at,
        stored.last_link_received_at as received_at,
        stored.first_linked_at
    from {{ this }} as stored
    where exists (
        select 1 from new_links
        where new_links.tenant_id = stored.tenant_id
          and new_links.anonymous_id = stored.anonymous_id
    )
    {% endif %}

),

ranked as (

    select
        tenant_id,
        anonymous_id,
        user_id,
        occurred_at,
        received_at,
        row_number() over (
            partition by tenant_id, anonymous_id
            order by occurred_at desc, received_at desc, user_id
        ) as recency_rank,
        min(first_linked_at) over (partition by tenant_id, anonymous_id) as first_linked_at
    from links

)

select
    tenant_id,
    anonymous_id,
    user_id,
    first_linked_at,
    occurred_at as last_linked_at,
    received_at as last_link_received_at,
    {{ batch_stamp() }} as _batch_at
from ranked
where recency_rank = 1

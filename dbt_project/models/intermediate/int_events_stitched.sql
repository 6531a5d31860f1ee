{#-
    The first table of every event: staging is a view, and this model is where each event's
    parsed fields are stored, once. A message a client retried is kept once, its first arrival.

    Incremental: a run stitches the events the collector received since the newest one stored,
    minus var('late_arrival_hours') (several collectors and loaders do not commit in exactly
    received_at order), leaving out messages already stored (a retry can come days later), and
    re-stitches, retroactively, the older anonymous events of every device whose user the new
    events changed (an identify or alias arriving later moves the device's whole past to the
    user). Rows are replaced by (tenant_id, message_id); `previous_actor_id` keeps who a
    re-stitched event belonged to before, so int_sessions can rebuild that person's visits too.
    A run with nothing new writes nothing, so nothing downstream rebuilds. `dbt build
    --full-refresh` stitches everything again.
-#}
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['tenant_id', 'message_id'],
    on_schema_change='append_new_columns',
) }}

{#-
    What stitching stores of staging: the columns the models downstream read. The client's raw
    context (user agent, locale, library, the collector's device verdicts, sent_at, log_offset,
    the UTC date) stays in the stg_collector__events view, by the same (tenant_id, message_id):
    writing it too was a fifth of this model's full build.
-#}
{% set carried = [
    'tenant_id', 'message_id', 'message_type', 'event', 'user_id', 'anonymous_id',
    'previous_id', 'occurred_at', 'received_at',
    'product_id', 'product_name', 'category', 'brand', 'price', 'quantity', 'order_id',
    'revenue', 'order_total', 'currency', 'products', 'coupon', 'recommendation_id',
    'recommendation_algorithm', 'recommended_product_ids', 'experiment_id', 'variation_id',
    'window_days',
    'trait_email', 'trait_first_name', 'trait_last_name', 'trait_name', 'trait_phone',
    'country', 'page_url', 'referrer', 'utm_source', 'utm_medium', 'utm_campaign',
    'is_bot', 'is_internal', 'device_type',
] %}

-- Every event with the person it belongs to. The identity map applies retroactively: a
-- visitor's anonymous browsing before they logged in is credited to their user id, so their
-- history, sessions and recommendations include it.

with

identity_map as (

    select * from {{ ref('int_identity_map') }}

),

arrivals as not materialized (

    select {{ carried | join(', ') }}, {{ raw_row_address() }} log_offset
    from {{ ref('stg_collector__events') }}
    {% if is_incremental() %}
    where received_at > {{ dbt.dateadd(
        'hour', -var('late_arrival_hours'), latest_stamp(this, 'received_at')
    ) }}
    {% endif %}

),

first_copies as (

    {{ first_arrivals('arrivals') }}

),

{% if is_incremental() %}

fresh as (

    -- The first arrivals of messages not stored before: the lookback re-reads a few hours,
    -- and a retry can come days later. An outer join rather than `not exists`: for that
    -- subquery DuckDB builds its hash table over every stored event (10 million ids: 60 % of
    -- a day's CPU), for the join over this run's few (docs/benchmarks.md). Null keys match
    -- nothing either way.
    select {% for column in carried %}first_copies.{{ column }}{{ ', ' if not loop.last }}{% endfor %}
    from first_copies
    left join {{ this }} as stored
        on stored.tenant_id = first_copies.tenant_id
        and stored.message_id = first_copies.message_id
    where first_copies.arrival_rank = 1
      and stored.message_id is null

),

candidates as (

    -- Devices the fresh events link to a user (events carrying both ids, alias calls).
    select distinct tenant_id, anonymous_id
    from fresh
    where anonymous_id is not null and user_id is not null
    union
    select distinct tenant_id, previous_id as anonymous_id
    from fresh
    where message_type = 'alias' and previous_id is not null and user_id is not null

),

relinked as (

    -- Of those, the devices whose stored anonymous events name another user than the map now.
    select distinct stored.tenant_id, stored.anonymous_id
    from {{ this }} as stored
    inner join candidates
        on stored.tenant_id = candidates.tenant_id
        and stored.anonymous_id = candidates.anonymous_id
    left join identity_map
        on stored.tenant_id = identity_map.tenant_id
        and stored.anonymous_id = identity_map.anonymous_id
    where stored.user_id is null
      and stored.resolved_user_id is distinct from identity_map.user_id

),

events as (

    -- With who each row belonged to before this run: nobody for a fresh event (never stored),
    -- the stored actor for a re-stitched one (the last column fetched, by position).
    select fresh.*, cast(null as {{ dbt.type_string() }}) as previous_actor_id
    from fresh

    union all

    -- The anonymous events of those devices, stored earlier (with every carried column):
    -- never fresh ones, which are the events not stored yet.
    {% set of_relinked_devices %}
    inner join relinked
        on restitched.tenant_id = relinked.tenant_id
        and restitched.anonymous_id = relinked.anonymous_id
    where restitched.user_id is null
    {% endset %}
    {{ fetch_matching_rows(this, carried + ['actor_id'], 'restitched', of_relinked_devices) }}

),

{% else %}

events as (

    select {{ carried | join(', ') }}
    from first_copies
    where arrival_rank = 1

),

{% endif %}

stitched as (

    select
        events.*,
        coalesce(events.user_id, identity_map.user_id) as resolved_user_id,
        coalesce(events.user_id, identity_map.user_id, events.anonymous_id) as actor_id
    from events
    left join identity_map
        on events.tenant_id = identity_map.tenant_id
        and events.anonymous_id = identity_map.anonymous_id

),

final as (

    select
        {%- for column in carried %}
        stitched.{{ column }},
        {%- endfor %}
        stitched.resolved_user_id,
        stitched.actor_id,
        {% if is_incremental() %}
        stitched.previous_actor_id,
        {% else %}
        cast(null as {{ dbt.type_string() }}) as previous_actor_id,
        {% endif %}
        {{ batch_stamp() }} as _batch_at
    from stitched

)

select * from final

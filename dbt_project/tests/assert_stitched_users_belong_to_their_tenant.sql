{{ config(meta={'dagster': {'ref': {'name': 'int_events_stitched'}}}) }}

-- Identity stitching never crosses tenants: every user an event is credited to is a user that
-- the same tenant has seen. Rows returned are violations. An incremental run checks the events
-- it (re-)stitched (incremental.sql, tests_latest_batch_only).

select stitched.tenant_id, stitched.message_id, stitched.resolved_user_id
from {{ ref('int_events_stitched') }} as stitched
where stitched.resolved_user_id is not null
  {% if tests_latest_batch_only() -%}
  and {{ in_latest_batch(ref('int_events_stitched'), alias='stitched') }}
  {% endif -%}
  and not exists (
      -- an event of the same tenant that carried the user id itself
      select 1
      from {{ ref('int_events_stitched') }} as events
      where events.tenant_id = stitched.tenant_id
        and events.user_id = stitched.resolved_user_id
  )

-- The prod raw zone: the same columns as the Parquet raw zone (intellishop.events.RAW_EVENT_SCHEMA
-- plus tenant_id and event_date), natively partitioned by UTC day. Partitions are created on
-- demand by ingest/raw_zone/postgres.py. Every statement is idempotent: this runs on every open.
create schema if not exists raw;

create table if not exists raw.events (
    message_id   text        not null,
    type         text        not null,
    event        text,
    user_id      text,
    anonymous_id text,
    previous_id  text,
    "timestamp"  timestamptz not null,
    sent_at      timestamptz,
    received_at  timestamptz not null,
    properties   text,
    traits       text,
    context      text,
    log_offset   bigint      not null,
    tenant_id    text        not null,
    event_date   date        not null
) partition by range (event_date);

-- Every message id each tenant has, whatever its day: the loader's insert claims ids here first
-- (on conflict do nothing, an index probe per row), so a retry landing on another day is caught
-- without scanning raw.events.
create table if not exists raw.loaded_messages (
    tenant_id  text not null,
    message_id text not null,
    primary key (tenant_id, message_id)
);

-- The same message lands once per tenant and day, whatever wrote it.
create unique index if not exists events_tenant_date_message
    on raw.events (tenant_id, event_date, message_id);

create index if not exists events_tenant_user on raw.events (tenant_id, user_id);
create index if not exists events_tenant_anonymous on raw.events (tenant_id, anonymous_id);

create table if not exists raw.tenants (
    tenant_id  text primary key,
    name       text    not null,
    timezone   text    not null,
    currency   text    not null,
    created_at text    not null,
    disabled   boolean not null
);

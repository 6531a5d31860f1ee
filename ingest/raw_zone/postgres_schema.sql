-- The prod raw zone's tables besides raw.events (see events_layout.py for that one, with the same
-- columns as the Parquet raw zone: intellishop.events.RAW_EVENT_SCHEMA plus tenant_id and
-- event_date). Every statement is idempotent: this runs on every open.
create schema if not exists raw;

-- raw.events itself is created by ingest/raw_zone/events_layout.py: native daily partitions, or a
-- TimescaleDB hypertable when the server has that extension.

-- Every message id each tenant has, whatever its day: the loader's insert claims ids here first
-- (on conflict do nothing, an index probe per row), so a retry landing on another day is caught
-- without scanning raw.events.
-- loaded_at lets the loader forget ids older than its dedup window (ingest.loader), so the table
-- holds one window of ids instead of growing forever.
create table if not exists raw.loaded_messages (
    tenant_id  text        not null,
    message_id text        not null,
    loaded_at  timestamptz not null default now(),
    primary key (tenant_id, message_id)
);
alter table raw.loaded_messages add column if not exists loaded_at timestamptz not null default now();
-- BRIN: loaded_at grows with insertion order, so a tiny index serves the prune's range scan and
-- costs the loader's inserts almost nothing (a btree would add an index insert per row).
create index if not exists loaded_messages_loaded_at on raw.loaded_messages using brin (loaded_at);

create table if not exists raw.tenants (
    tenant_id  text primary key,
    name       text    not null,
    timezone   text    not null,
    currency   text    not null,
    created_at text    not null,
    disabled   boolean not null
);

-- The product catalog of each tenant, from `intellishop import products` (the prod twin of
-- raw/catalog/tenant_id=<t>/products.parquet): each import replaces the tenant's rows in one
-- transaction. Imports refuse duplicate product ids, hence the key.
create table if not exists raw.catalog (
    tenant_id   text             not null,
    product_id  text             not null,
    name        text             not null,
    category    text,
    brand       text,
    price       double precision,
    currency    text,
    sku         text,
    imported_at timestamptz      not null,
    primary key (tenant_id, product_id)
);

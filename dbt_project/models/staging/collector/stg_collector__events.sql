{#-
    A view, like the other staging models: each reader parses only the rows it asks for. The
    one model that reads every column, int_events_stitched, stores the result, so each event is
    written once (as a table here it was written twice: this table, then the stitched one, a
    third of a full build; docs/benchmarks.md). One row per arrival: a message a client
    retried is here once per copy, and stitching keeps the first (`first_arrivals`), by the
    raw zone's own row address where the target has one (`raw_row_address`).
-#}
{{ config(materialized='view') }}

{% set property_paths = [
    'product_id', 'name', 'category', 'brand', 'price', 'quantity', 'order_id', 'revenue',
    'total', 'currency', 'url', 'referrer', 'products', 'coupon', 'recommendation_id',
    'algorithm', 'product_ids', 'experiment_id', 'variation_id', 'window_days',
] %}
{% set context_paths = [
    'location.country', 'userAgent', 'locale', 'library.name', 'page.url', 'page.referrer',
    'campaign.source', 'campaign.medium', 'campaign.name', 'intellishop.is_bot',
    'intellishop.device_type', 'intellishop.browser', 'intellishop.os',
] %}
{#- Traits of identify calls (the person table's source); other calls' traits are ignored. -#}
{% set trait_paths = ['email', 'first_name', 'last_name', 'name', 'phone'] %}
{#-
    Since the loader takes these fields out of the JSON when an event lands (one text column
    each, ingest/raw_zone/extracted.py, whose paths are these), staging parses only the rows
    landed before that, or before var('raw_fields_version') (null or an older `fields_version`):
    `landed` is 'all', 'some' or 'none' (macros/raw_fields.sql). A raw zone with no such file at
    all (or the PostgreSQL one) is parsed as before.
-#}
{% set landed = raw_fields_landed(source('collector', 'events')) %}
{#- Expressions that give each field, by path. -#}
{% set prop = {} %}
{% for path in property_paths %}
    {% do prop.update({path: raw_field('property_values', property_paths, path, 'property_', landed)}) %}
{% endfor %}
{% set trait = {} %}
{% for path in trait_paths %}
    {% do trait.update({path: raw_field('trait_values', trait_paths, path, 'trait_', landed)}) %}
{% endfor %}
{% set ctx = {} %}
{% for path in context_paths %}
    {% do ctx.update({path: raw_field('context_values', context_paths, path, 'context_', landed)}) %}
{% endfor %}

-- One row per arrival of a Segment message: renamed, typed, and with the e-commerce and
-- context fields pulled out of the JSON.

with

{#- Read by both branches of `parsed` when only some fields landed: inlined, not copied. #}
source as {{ 'not materialized ' if landed == 'some' }}(

    select * from {{ source('collector', 'events') }}

),

parsed as (

    {% if landed != 'none' %}
    -- Rows landed with the current fields: their JSON documents are not read at all (DuckDB
    -- reads only the columns a query names, and 10M events carry 10 GB of JSON text: 8 CPU-s
    -- of a scan, paid by every full build while nothing parsed it; docs/benchmarks.md).
    select
        source.* exclude (properties, context, traits)
        {%- if landed == 'some' %},
        cast(null as varchar[]) as property_values,
        cast(null as varchar[]) as context_values,
        cast(null as varchar[]) as trait_values
        {%- endif %}
    from source
    {% if landed == 'some' %}
    where source.fields_version >= {{ var('raw_fields_version') }}

    union all
    {% endif %}
    {% endif %}

    {% if landed != 'all' %}
    -- Rows landed before (or with older fields), or a raw zone parsed as before: each document
    -- parsed once per row, not once per field taken out of it (evaluated_once).
    select
        source.*{{ ' exclude (properties, context, traits)' if landed == 'some' }},
        parsed_json.*
    {% if landed == 'some' %}
    from (
        select * from source
        where {{ raw_fields_outdated('source.fields_version') }}
    ) as source
    {% else %}
    from source
    {% endif %}
    cross join lateral (
        select
            {{ json_extract_many('source.properties', property_paths) }} as property_values,
            {{ json_extract_many('source.context', context_paths) }} as context_values,
            case
                when source."type" = 'identify'
                    then {{ json_extract_many('source.traits', trait_paths) }}
            end as trait_values
        {{ evaluated_once() }}
    ) as parsed_json
    {% endif %}

),

renamed as (

    select
        -- ids
        cast(tenant_id as {{ dbt.type_string() }}) as tenant_id,
        message_id,
        "type" as message_type,
        event,
        user_id,
        anonymous_id,
        previous_id,

        -- times: instants with time zone, UTC
        "timestamp" as occurred_at,
        sent_at,
        received_at,
        cast(event_date as date) as event_date_utc,
        log_offset,
        {{ raw_row_address(from_source=true) }}

        -- e-commerce properties (Segment e-commerce v2 spec)
        {{ prop['product_id'] }} as product_id,
        {{ prop['name'] }} as product_name,
        {{ prop['category'] }} as category,
        {{ prop['brand'] }} as brand,
        {{ number_or_null(prop['price'], type_money()) }} as price,
        cast(
            {{ number_or_null(prop['quantity'], dbt.type_numeric(), max_abs=1e9) }}
            as {{ dbt.type_int() }}
        ) as quantity,
        {{ prop['order_id'] }} as order_id,
        -- Segment's `revenue` excludes shipping and tax; shops that send only `total` get that.
        coalesce(
            {{ number_or_null(prop['revenue'], type_money()) }},
            {{ number_or_null(prop['total'], type_money()) }}
        ) as revenue,
        {{ number_or_null(prop['total'], type_money()) }} as order_total,
        upper({{ prop['currency'] }}) as currency,
        -- JSON text of properties.products[] (cart, checkout and order events), else null
        {{ prop['products'] }} as products,
        {{ prop['coupon'] }} as coupon,
        -- recommendations: the serving API's "Recommendations Served" and the shop's clicks,
        -- cart adds and orders that quote what they came from
        {{ prop['recommendation_id'] }} as recommendation_id,
        {{ prop['algorithm'] }} as recommendation_algorithm,
        -- JSON text of properties.product_ids[] (Recommendations Served), else null
        {{ prop['product_ids'] }} as recommended_product_ids,
        -- Experiment Viewed (exposures logged by intellishop.experiments)
        {{ prop['experiment_id'] }} as experiment_id,
        {{ prop['variation_id'] }} as variation_id,
        -- email exposures: the campaign's conversion window (days)
        cast(
            {{ number_or_null(prop['window_days'], dbt.type_numeric(), max_abs=1e6) }}
            as {{ dbt.type_int() }}
        ) as window_days,

        -- identify traits (null on other calls)
        {{ trait['email'] }} as trait_email,
        {{ trait['first_name'] }} as trait_first_name,
        {{ trait['last_name'] }} as trait_last_name,
        {{ trait['name'] }} as trait_name,
        {{ trait['phone'] }} as trait_phone,

        -- context
        {{ ctx['location.country'] }} as country,
        {{ ctx['userAgent'] }} as user_agent,
        {{ ctx['locale'] }} as locale,
        {{ ctx['library.name'] }} as library_name,
        case
            when "type" = 'page' then coalesce({{ prop['url'] }}, {{ ctx['page.url'] }})
            else {{ ctx['page.url'] }}
        end as page_url,
        case
            when "type" = 'page' then coalesce({{ prop['referrer'] }}, {{ ctx['page.referrer'] }})
            else {{ ctx['page.referrer'] }}
        end as referrer,
        {{ ctx['campaign.source'] }} as utm_source,
        {{ ctx['campaign.medium'] }} as utm_medium,
        {{ ctx['campaign.name'] }} as utm_campaign,
        -- what the collector derived from the user agent (events since enrichment landed)
        {{ ctx['intellishop.is_bot'] }} as enriched_is_bot,
        {{ ctx['intellishop.device_type'] }} as enriched_device_type,
        {{ ctx['intellishop.browser'] }} as browser,
        {{ ctx['intellishop.os'] }} as operating_system

    from parsed

),

classified as (

    select
        *,
        -- Crawlers run analytics snippets too; they are kept here and left out of visits. The
        -- collector's verdict (a maintained crawler list) first; older events by keywords.
        -- `ilike`, not `lower(user_agent) like`: DuckDB computes an expression written twice
        -- once, for every row, before the coalesce and the case below skip it for the rows the
        -- collector classified; lowering 10 million user agents was 7 % of a full build's
        -- staging CPU (docs/benchmarks.md).
        coalesce(
            case enriched_is_bot when 'true' then true when 'false' then false end,
            user_agent ilike '%bot%'
            or user_agent ilike '%crawler%'
            or user_agent ilike '%spider%',
            false
        ) as is_bot,
        -- What IntelliShop itself logged (recommendations served, campaign messages, email
        -- opens and clicks): kept for attribution, never counted as shop visits or identities.
        coalesce(library_name in ('intellishop-serving', 'intellishop-automation'), false)
            as is_internal,
        case
            when enriched_device_type in ('desktop', 'mobile', 'tablet')
                then enriched_device_type
            when user_agent is null then null
            when user_agent ilike '%ipad%' or user_agent ilike '%tablet%' then 'tablet'
            when user_agent ilike '%mobi%' or user_agent ilike '%android%' then 'mobile'
            else 'desktop'
        end as device_type
    from renamed

)

select * from classified

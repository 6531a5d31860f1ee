-- One row per shop: the time zone its days are counted in and its currency.

with

source as (

    select * from {{ source('collector', 'tenants') }}

),

renamed as (

    select
        cast(tenant_id as {{ dbt.type_string() }}) as tenant_id,
        name as tenant_name,
        timezone,
        upper(currency) as currency,
        cast(created_at as timestamp with time zone) as created_at,
        coalesce(disabled, false) as is_disabled
    from source

)

select * from renamed

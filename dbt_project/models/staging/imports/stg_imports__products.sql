-- The imported product catalogue, one row per tenant and product. A shop that never imported
-- one has no file (locally) or no raw.catalog table yet (prod): `optional_source` then yields
-- an empty relation with these columns, so the build never depends on an import having run.

{% set columns = {
    'tenant_id': dbt.type_string(),
    'product_id': dbt.type_string(),
    'name': dbt.type_string(),
    'category': dbt.type_string(),
    'brand': dbt.type_string(),
    'price': type_money(),
    'currency': dbt.type_string(),
    'sku': dbt.type_string(),
    'imported_at': 'timestamp with time zone',
} %}

with

source as (

    {{ optional_source(
        'imports', 'products', columns,
        files=env_var('INTELLISHOP_RAW_ZONE', '../.intellishop/raw')
            ~ '/catalog/tenant_id=*/products.parquet'
    ) }}

),

renamed as (

    select
        cast(tenant_id as {{ dbt.type_string() }}) as tenant_id,
        cast(product_id as {{ dbt.type_string() }}) as product_id,
        nullif(trim(name), '') as product_name,
        nullif(trim(category), '') as category,
        nullif(trim(brand), '') as brand,
        cast(price as {{ type_money() }}) as price,
        upper(currency) as currency,
        nullif(trim(sku), '') as sku,
        cast(imported_at as timestamp with time zone) as imported_at
    from source
    where product_id is not null

)

select * from renamed

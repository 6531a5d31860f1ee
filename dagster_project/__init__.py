"""The IntelliShop pipeline as Dagster assets: raw zone -> dbt models -> ML -> serving artifacts."""

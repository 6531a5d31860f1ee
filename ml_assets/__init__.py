"""Machine learning on the warehouse's marts: plain Python over polars, no Dagster.

Every function takes and returns polars DataFrames that carry ``tenant_id`` and never lets one
tenant's rows influence another's result, so the orchestrator can run them on all tenants at once.
"""

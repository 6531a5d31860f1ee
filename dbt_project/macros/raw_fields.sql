{#-
    The JSON fields staging reads, from the columns the loader took them out into when the
    event landed (ingest/raw_zone/extracted.py), or from the document for rows stored before
    that. Only the Parquet raw zone (DuckDB) has such columns so far.
-#}

{#- Whether `relation` (the raw events) has the extracted columns; false while parsing. -#}
{% macro raw_fields_extracted(relation) %}
    {{ return(adapter.dispatch('raw_fields_extracted', 'intellishop')(relation)) }}
{% endmacro %}

{% macro default__raw_fields_extracted(relation) %}
    {{ return(false) }}
{% endmacro %}

{% macro duckdb__raw_fields_extracted(relation) %}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {#- No rows: DuckDB reads the files' footers only (union_by_name: every file's). -#}
    {%- set columns = run_query('select * from ' ~ relation ~ ' limit 0').column_names -%}
    {{ return('fields_version' in columns) }}
{% endmacro %}

{#-
    One field: the extracted column (`prefix` + the path, dots as underscores) when `landed`,
    else, or for a row that has none, the field out of `values`, the parsed document (see
    json_extract_many, json_extracted).
-#}
{% macro raw_field(values, paths, path, prefix, landed) -%}
    {%- if landed -%}
        coalesce({{ adapter.quote(prefix ~ path | replace('.', '_')) }}, {{ json_extracted(values, paths, path) }})
    {%- else -%}
        {{ json_extracted(values, paths, path) }}
    {%- endif -%}
{%- endmacro %}

{#-
    The JSON fields staging reads, from the columns the loader took them out into when the
    event landed (ingest/raw_zone/extracted.py), or from the document for rows stored before
    that. Only the Parquet raw zone (DuckDB) has such columns so far.
-#}

{#-
    How the rows of `relation` (the raw events) carry staging's fields, checked when the model
    is built (every run rebuilds the staging view): 'all' landed with the current
    var('raw_fields_version'), 'some' (older files beside newer ones), or 'none' (no file has
    the columns, or the raw zone is PostgreSQL's): only the rows that need it are parsed, and
    with 'all' the documents are not read at all.
-#}
{% macro raw_fields_landed(relation) %}
    {{ return(adapter.dispatch('raw_fields_landed', 'intellishop')(relation)) }}
{% endmacro %}

{% macro default__raw_fields_landed(relation) %}
    {{ return('none') }}
{% endmacro %}

{% macro duckdb__raw_fields_landed(relation) %}
    {%- if not execute -%}
        {{ return('none') }}
    {%- endif -%}
    {#- No rows: DuckDB reads the files' footers only (union_by_name: every file's). -#}
    {%- set columns = run_query('select * from ' ~ relation ~ ' limit 0').column_names -%}
    {%- if 'fields_version' not in columns -%}
        {{ return('none') }}
    {%- endif -%}
    {#- The files' statistics of fields_version answer this without reading their rows. -#}
    {%- set older = run_query(
        'select count(*) from ' ~ relation ~ ' where ' ~ raw_fields_outdated('fields_version')
    ).columns[0].values()[0] -%}
    {{ return('some' if older > 0 else 'all') }}
{% endmacro %}

{#- Predicate: the row's fields (its `fields_version` column) were not landed, or are older. -#}
{% macro raw_fields_outdated(column) -%}
    ({{ column }} is null or {{ column }} < {{ var('raw_fields_version') }})
{%- endmacro %}

{#-
    One field: the extracted column (`prefix` + the path, dots as underscores) when every row
    `landed` it; else, or for a row that has none, the field out of `values`, the parsed
    document (see json_extract_many, json_extracted).
-#}
{% macro raw_field(values, paths, path, prefix, landed) -%}
    {%- set column = adapter.quote(prefix ~ path | replace('.', '_')) -%}
    {%- if landed == 'all' -%}
        {{ column }}
    {%- elif landed == 'some' -%}
        coalesce({{ column }}, {{ json_extracted(values, paths, path) }})
    {%- else -%}
        {{ json_extracted(values, paths, path) }}
    {%- endif -%}
{%- endmacro %}

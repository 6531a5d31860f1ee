{#-
    A source that may not exist yet, as a select of `columns` ({name: type}): the source's rows
    when it exists, else no rows (same columns and types). What an import writes (the catalogue)
    is absent until the first import; the build must not fail for a shop that never ran one.
    Checked at run time: a view built while the source was absent stays empty until the next
    build (every pipeline run builds). `files` is the Parquet glob the local target reads.
-#}

{% macro optional_source(source_name, table_name, columns, files=none) -%}
    {{ return(adapter.dispatch('optional_source', 'intellishop')(
        source_name, table_name, columns, files)) }}
{%- endmacro %}

{% macro optional_source_empty(columns) -%}
    select
    {%- for name, type in columns.items() %}
        cast(null as {{ type }}) as {{ name }}{{ "," if not loop.last }}
    {%- endfor %}
    where 1 = 0
{%- endmacro %}

{% macro optional_source_select(relation, columns) -%}
    select
    {%- for name, type in columns.items() %}
        cast({{ name }} as {{ type }}) as {{ name }}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ relation }}
{%- endmacro %}

{% macro default__optional_source(source_name, table_name, columns, files) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- set found = none -%}
    {%- if execute -%}
        {%- set found = adapter.get_relation(
            database=relation.database, schema=relation.schema, identifier=relation.identifier
        ) -%}
    {%- endif -%}
    {%- if found is not none -%}
        {{ optional_source_select(relation, columns) }}
    {%- else -%}
        {{ optional_source_empty(columns) }}
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__optional_source(source_name, table_name, columns, files) -%}
    {%- set present = false -%}
    {%- if execute and files -%}
        {#- The glob is a path we configured (env), never user input. -#}
        {%- set result = run_query(
            "select count(*) from glob('" ~ (files | replace("'", "''")) ~ "')") -%}
        {%- set present = result.columns[0].values()[0] > 0 -%}
    {%- endif -%}
    {%- if present -%}
        {{ optional_source_select(source(source_name, table_name), columns) }}
    {%- else -%}
        {{ optional_source_empty(columns) }}
    {%- endif -%}
{%- endmacro %}

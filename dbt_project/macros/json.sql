{#-
    JSON access for the raw `properties` and `context` columns: JSON text in the Parquet raw
    zone (DuckDB), json/jsonb or text in PostgreSQL. Paths are dotted key paths from the root,
    e.g. 'location.country'; each dialect builds its own path syntax from them.
-#}

{#- Text (or the JSON text of an object/array) at `path`, null when absent. -#}
{% macro json_text(column, path) -%}
    {{ return(adapter.dispatch('json_text', 'intellishop')(column, path)) }}
{%- endmacro %}

{% macro default__json_text(column, path) -%}
    (cast({{ column }} as jsonb) #>> '{{ "{" ~ (path.split(".") | join(",")) ~ "}" }}')
{%- endmacro %}

{% macro duckdb__json_text(column, path) -%}
    json_extract_string({{ column }}, '$.{{ path }}')
{%- endmacro %}


{#-
    Many fields of one JSON document, parsed once: `json_extract_many` makes a value holding
    all of `paths`, `json_extracted` takes one of them out again. On DuckDB that is one
    multi-path json_extract_string (a list), five times faster than one call per field on
    wide documents; on PostgreSQL it is the jsonb value itself.
-#}
{% macro json_extract_many(column, paths) -%}
    {{ return(adapter.dispatch('json_extract_many', 'intellishop')(column, paths)) }}
{%- endmacro %}

{% macro default__json_extract_many(column, paths) -%}
    cast({{ column }} as jsonb)
{%- endmacro %}

{% macro duckdb__json_extract_many(column, paths) -%}
    json_extract_string({{ column }}, [
        {%- for path in paths %}'$.{{ path }}'{{ ", " if not loop.last }}{% endfor -%}
    ])
{%- endmacro %}

{#-
    Ends a LATERAL subquery that makes the `json_extract_many` values of the row beside it, so
    that they are made once per row. PostgreSQL pulls a simple subquery or CTE up into the
    query that reads it and writes its expressions wherever one of its columns is used: each
    field `json_extracted` takes out (and `number_or_null` reads its field four times) would
    cast the whole document to jsonb again, about fifty parses of each event in staging.
    `offset 0` keeps the subquery a step of its own (staging 6x faster on PostgreSQL;
    docs/benchmarks.md), and in a LATERAL subquery it leaves the filters of the query around
    it free to reach the table. DuckDB computes a projection once, and flattens the LATERAL
    subquery into one when it has no `offset`: nothing there.
-#}
{% macro evaluated_once() -%}
    {{ return(adapter.dispatch('evaluated_once', 'intellishop')()) }}
{%- endmacro %}

{% macro default__evaluated_once() -%}
    offset 0
{%- endmacro %}

{% macro duckdb__evaluated_once() -%}
{%- endmacro %}

{% macro json_extracted(extracted, paths, path) -%}
    {{ return(adapter.dispatch('json_extracted', 'intellishop')(extracted, paths, path)) }}
{%- endmacro %}

{% macro default__json_extracted(extracted, paths, path) -%}
    ({{ extracted }} #>> '{{ "{" ~ (path.split(".") | join(",")) ~ "}" }}')
{%- endmacro %}

{% macro duckdb__json_extracted(extracted, paths, path) -%}
    {%- if path not in paths -%}
        {{ exceptions.raise_compiler_error("json_extracted: " ~ path ~ " was not extracted") }}
    {%- endif -%}
    {{ extracted }}[{{ paths.index(path) + 1 }}]
{%- endmacro %}


{#-
    A set-returning expression with one value per element of the JSON array `column` (no rows
    when it is null, not JSON, or not an array: a shop's odd payload costs its rows only):
    the element's `paths`, as `json_extract_many` holds them (take each out with
    `json_extracted`). Use it in a select list: it multiplies the row.
-#}
{% macro json_array_elements_extracted(column, paths) -%}
    {{ return(adapter.dispatch('json_array_elements_extracted', 'intellishop')(column, paths)) }}
{%- endmacro %}

{% macro default__json_array_elements_extracted(column, paths) -%}
    {#- Each element as jsonb, which json_extracted reads. Arrays taken out of jsonb with #>>
        are serialised by PostgreSQL: text starting with '[' is then valid JSON (a string
        property that merely starts with '[' is the blind spot). -#}
    jsonb_array_elements(
        case
            when left(ltrim({{ column }}), 1) = '[' then cast({{ column }} as jsonb)
            else cast('[]' as jsonb)
        end
    )
{%- endmacro %}

{% macro duckdb__json_array_elements_extracted(column, paths) -%}
    {#- One parse per document, not three (json_valid, json_type, json_extract): '$[*]' of an
        object or a scalar is an empty list, and try() turns invalid JSON into null. The
        paths are extracted inside the list, before unnest: extracted after it, as a column of
        the unnested rows, DuckDB parsed every element twice (once more for a filter on one of
        the paths pushed below the projection): 10-17 % of int_product_mentions' CPU in a
        full build (docs/benchmarks.md). -#}
    unnest(list_transform(
        try(json_extract({{ column }}, '$[*]')),
        lambda element: {{ duckdb__json_extract_many('element', paths) }}
    ))
{%- endmacro %}


{#- Elements of the JSON array `column` (JSON text), 0 when it is null or not an array. -#}
{% macro json_array_length(column) -%}
    {{ return(adapter.dispatch('json_array_length', 'intellishop')(column)) }}
{%- endmacro %}

{% macro default__json_array_length(column) -%}
    case
        when left(ltrim({{ column }}), 1) = '['
            then jsonb_array_length(cast({{ column }} as jsonb))
        else 0
    end
{%- endmacro %}

{% macro duckdb__json_array_length(column) -%}
    case
        when json_valid({{ column }}) and json_type({{ column }}) = 'ARRAY'
            then cast(json_array_length({{ column }}) as integer)
        else 0
    end
{%- endmacro %}

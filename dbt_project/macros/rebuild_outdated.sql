{#-
    An incremental model's stored table may predate a column the model now declares (its yml):
    a batch stamp that its incremental path reads, or a field that old rows would be missing.
    dbt would only append the column, empty for every stored row, and the model's incremental
    path would then read nothing or fail. So, before a run that is not `--full-refresh`, the
    stored table of every selected incremental model that lacks a declared column is dropped,
    and the model builds in full; the models after it see every row as new and catch up.
    A model that stopped producing columns lists them in `meta.retired_columns`: a stored
    table that still has one is rebuilt the same way. (dbt's `sync_all_columns` would drop
    them in place, but PostgreSQL refuses while a view downstream selects them.)
    Run from `on-run-start` (dbt_project.yml), where the upgraded warehouse of `make demo`
    or of a scheduled pipeline meets new model code.
-#}
{% macro rebuild_outdated_incremental_models() %}
    {%- if execute and not flags.FULL_REFRESH -%}
        {%- for node in graph.nodes.values() -%}
            {%- if node.resource_type == 'model'
                and node.config.materialized == 'incremental'
                and node.unique_id in selected_resources -%}
                {%- set relation = adapter.get_relation(
                    database=node.database, schema=node.schema, identifier=node.alias
                ) -%}
                {%- if relation is not none -%}
                    {%- set stored = adapter.get_columns_in_relation(relation)
                        | map(attribute='name') | map('lower') | list -%}
                    {%- set missing = node.columns.keys() | map('lower')
                        | reject('in', stored) | list -%}
                    {%- set retired = (node.config.meta or {}).get('retired_columns', [])
                        | map('lower') | select('in', stored) | list -%}
                    {%- if missing or retired -%}
                        {{ log('Rebuilding ' ~ node.name ~ ' in full: its table has '
                            ~ ('no ' ~ missing | join(', ') if missing
                               else 'retired columns ' ~ retired | join(', ')), info=true) }}
                        {%- do adapter.drop_relation(relation) -%}
                        {%- do adapter.commit() -%}
                    {%- endif -%}
                {%- endif -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{% endmacro %}

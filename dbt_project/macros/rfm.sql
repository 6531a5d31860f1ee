{#-
    The named RFM segment of a customer from its recency, frequency and monetary quintiles
    (1..5, 5 best) and its order count. Segments that speak of loyalty need a second order:
    frequency quintiles of one-time buyers only reflect their spend.
-#}

{% macro rfm_segment(recency, frequency, monetary, orders) -%}
    case
        when {{ recency }} >= 4 and {{ frequency }} >= 4 and {{ monetary }} >= 4
            and {{ orders }} >= 2 then 'Champions'
        when {{ recency }} <= 2 and {{ frequency }} >= 4 and {{ monetary }} >= 4
            and {{ orders }} >= 2 then 'Can''t Lose Them'
        when {{ recency }} >= 3 and {{ frequency }} >= 3 and {{ orders }} >= 2 then 'Loyal'
        when {{ recency }} <= 2 and {{ orders }} >= 2 then 'At Risk'
        when {{ recency }} >= 4 and {{ orders }} = 1 then 'New'
        when {{ recency }} >= 4 then 'Potential Loyalists'
        when {{ recency }} = 3 then 'Promising'
        when {{ recency }} = 2 then 'Hibernating'
        else 'Lost'
    end
{%- endmacro %}

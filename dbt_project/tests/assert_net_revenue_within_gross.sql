-- Refunds take back at most the whole order: 0 <= net revenue <= gross revenue.

select tenant_id, order_id, gross_revenue, net_revenue
from {{ ref('int_orders') }}
where net_revenue < 0
   or net_revenue > gross_revenue

"""Shop platforms (Shopify, WooCommerce): connections, webhook payloads as canonical events."""

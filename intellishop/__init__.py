"""IntelliShop Analytics: shared settings, schemas, tenants and the command line."""

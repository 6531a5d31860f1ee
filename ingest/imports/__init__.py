"""CSV imports: order history, product catalogs and customer lists (see docs/imports.md)."""

"""Sub-commands of the ``intellishop`` command line, one module per area."""

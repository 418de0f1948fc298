"""CLI command groups, one module each; `api.cli` assembles them."""

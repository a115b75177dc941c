"""HTTP entrypoints of the billing service."""

"""HTTP entrypoints of the contact service."""

"""Billing service: commission contracts, billing runs and invoices (issue 5)."""

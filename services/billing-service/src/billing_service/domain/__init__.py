"""Billing rules without I/O: contracts, the commission ledger, invoices and performance."""

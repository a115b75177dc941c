"""Read models, records and their adapters."""

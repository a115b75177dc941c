"""Read models and their adapters."""

"""Adapters: the event-store recorders, SQL read models and the PII key vault."""

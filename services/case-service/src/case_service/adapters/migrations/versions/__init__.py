"""Revisions of the case service's tables, oldest first."""

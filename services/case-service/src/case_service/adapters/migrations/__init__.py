"""The case service's alembic history (`casetrail migrate case`; see adapters/tables.py)."""

"""The contact service's alembic history (env.py, versions/): run by `contact_service.adapters.
schema.migrate`, never imported."""

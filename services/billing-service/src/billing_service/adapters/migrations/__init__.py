"""The billing service's alembic history (env.py, versions/): run by `billing_service.adapters.
schema.migrate`, never imported."""

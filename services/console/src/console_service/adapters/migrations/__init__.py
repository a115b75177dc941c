"""The console's alembic history (env.py, versions/): run by `console_service.adapters.schema.
migrate`, never imported."""

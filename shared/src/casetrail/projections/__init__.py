"""Projections: read models built from case events, exactly once, on either transport."""

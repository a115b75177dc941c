"""Route modules of the case API."""

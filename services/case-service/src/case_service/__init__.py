"""Case service."""

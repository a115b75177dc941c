"""The contact service's revisions, oldest first."""

"""The billing service's revisions, oldest first."""

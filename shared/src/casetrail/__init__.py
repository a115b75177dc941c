"""casetrail shared library."""

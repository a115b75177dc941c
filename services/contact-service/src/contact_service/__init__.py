"""Contact service: contact log, contact rules, service levels and QA sampling (issue 4)."""

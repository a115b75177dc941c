"""The collection-case domain: aggregates, events, value objects and domain errors. No I/O."""

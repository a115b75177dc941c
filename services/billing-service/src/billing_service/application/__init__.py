"""The billing service's use cases, one module per capability: contracts (record a version,
list them), runs (bill a period, preview it), invoices (list, open, export) and performance
(agency reports, comparisons). Each takes primitives and domain values in, reads and writes
through the adapters, and answers primitives; domain errors say why a request is refused."""

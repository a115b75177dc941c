"""The contact service's use cases, one module per capability: callers (a principal) and
primitives in, primitives out, domain and application errors raised (the entrypoints map
them to HTTP answers in one table, `entrypoints/errors.py`).

- `contacts`: the contact log, scoped to the caller;
- `compliance`: contact permission, violations, policy packs and creditors' assignments;
- `quality`: QA samples and reviews, contact KPIs;
- `service_levels`: service levels per case and the day's worklist;
- `settings`: agency settings (each agency's time zone);
- `complaints`: the complaint list (issue 21; docs/contact-operations.md);
- `timeliness`: how soon each agency's and collector's work reaches the log;
- `access`: who may do what (roles and tenants), shared by the use cases;
- `errors`: the errors the use cases raise besides the domain's.

Use cases read and write through the adapters given to them by `bootstrap`; adapters never
import this package.
"""

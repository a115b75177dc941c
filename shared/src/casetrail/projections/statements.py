"""What kind of INSERT a projection handler wrote: the one place in the shared library that
reads SQLAlchemy's private statement attributes.

The projection store holds plain single-row inserts and sends them together (an executemany,
or COPY on PostgreSQL; see `store.py`), which is what makes a rebuild fast. It must tell a
plain insert of one row from anything else (`ON CONFLICT`, `RETURNING`, multi-row VALUES, SQL
expressions as values), and SQLAlchemy offers no public way to ask. The attributes read here
(`_post_values_clause`, `_returning`, `_multi_values`, `_values`) are the 2.1 series'; the
versions are pinned to that range (`sqlalchemy>=2.1,<2.2`), and
`shared/tests/test_statements.py` checks each answer against statements built through the
public API, so an upgrade that moves them fails there, not in a rebuild. When the answer is
"not plain", the statement simply runs as written: a wrong "not plain" costs speed, never
correctness.
"""

from __future__ import annotations

import weakref
from typing import Any

from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import BindParameter


def plain_row(statement: Any) -> dict[str, Any] | None:
    """The row of `table.insert().values(column=value, ...)` with only bound values; None for
    any other statement."""
    if not isinstance(statement, Insert) or statement._post_values_clause is not None \
            or statement._returning or statement._multi_values:
        return None
    values = getattr(statement, "_values", None)
    if not values or not all(isinstance(k, str) and isinstance(v, BindParameter)
                             for k, v in values.items()):
        return None  # SQL expressions or unusual keys: run it as it is
    return {k: v.value for k, v in values.items()}


def is_plain_row_form(statement: Insert) -> bool:
    """Whether `execute(statement, {row})` is a plain single-row insert of that row: a bare
    `table.insert()` (no VALUES of its own, no ON CONFLICT, no RETURNING). Cached per
    statement object (handlers reuse theirs)."""
    known = _PLAIN_FORMS.get(statement)
    if known is None:
        known = _PLAIN_FORMS[statement] = (
            statement._post_values_clause is None and not statement._returning
            and not statement._multi_values and not getattr(statement, "_values", None))
    return known


_PLAIN_FORMS: weakref.WeakKeyDictionary[Insert, bool] = weakref.WeakKeyDictionary()

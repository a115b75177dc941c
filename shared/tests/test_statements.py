"""The projection store's reading of SQLAlchemy statements (casetrail.projections.statements)
agrees with what the statements are, built through SQLAlchemy's public API: the private
attributes it reads are checked here against the installed version."""

from __future__ import annotations

import sqlalchemy as sa
from casetrail.projections.statements import is_plain_row_form, plain_row
from sqlalchemy.dialects import postgresql, sqlite

metadata = sa.MetaData()
rows = sa.Table("rows", metadata, sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("name", sa.String), sa.Column("total", sa.Integer))


def test_a_plain_insert_of_bound_values_gives_its_row() -> None:
    assert plain_row(rows.insert().values(id=1, name="a", total=3)) == {
        "id": 1, "name": "a", "total": 3}


def test_anything_else_is_run_as_written() -> None:
    others = [
        rows.insert(),  # no values of its own
        rows.insert().values(id=1, name="a").returning(rows.c.id),
        rows.insert().values([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]),
        rows.insert().values(id=1, total=rows.c.id + 1),  # an SQL expression
        rows.insert().values(id=1, name=sa.func.lower("A")),
        postgresql.insert(rows).values(id=1, name="a").on_conflict_do_nothing(),
        postgresql.insert(rows).values(id=1, name="a").on_conflict_do_update(
            index_elements=["id"], set_={"name": "b"}),
        sqlite.insert(rows).values(id=1, name="a").on_conflict_do_nothing(),
        rows.update().values(name="b"),
        sa.select(rows),
        "INSERT INTO rows VALUES (1)",
    ]
    assert [plain_row(statement) for statement in others] == [None] * len(others)


def test_a_bare_insert_executed_with_a_row_is_the_plain_form() -> None:
    assert is_plain_row_form(rows.insert())
    assert not is_plain_row_form(rows.insert().values(id=1))
    assert not is_plain_row_form(rows.insert().returning(rows.c.id))
    assert not is_plain_row_form(postgresql.insert(rows).on_conflict_do_nothing())
    assert not is_plain_row_form(sqlite.insert(rows).on_conflict_do_nothing())

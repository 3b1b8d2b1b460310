"""The filter/order mini-language of the *_list queries, compiled to SQL."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import postgresql

from ai.backend.manager.errors import InvalidAPIParameters
from ai.backend.manager.gql.minilang import parse_filter, parse_order
from ai.backend.manager.models import UserRole, keypairs, users

FIELDS = {"email": users.c.email, "role": users.c.role, "status": users.c.status,
          "created_at": users.c.created_at, "rate_limit": keypairs.c.rate_limit,
          "allowed_client_ip": users.c.allowed_client_ip}


def sql(expr: object) -> str:
    return str(expr.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))  # type: ignore[attr-defined]


def test_precedence_and_grouping() -> None:
    text = sql(parse_filter('email == "a" | email == "b" & rate_limit > 3', FIELDS))
    assert text == "users.email = 'a' OR users.email = 'b' AND keypairs.rate_limit > 3"
    text = sql(parse_filter('(email == "a" | email == "b") & rate_limit >= 3', FIELDS))
    assert text == "(users.email = 'a' OR users.email = 'b') AND keypairs.rate_limit >= 3"


def test_operators() -> None:
    assert sql(parse_filter('email ilike "%@x.org"', FIELDS)) == "users.email ILIKE '%%@x.org'"  # psycopg-style escaping
    assert sql(parse_filter('email like "a\\"b"', FIELDS)) == "users.email LIKE 'a\"b'"
    assert sql(parse_filter("email != null", FIELDS)) == "users.email IS NOT NULL"
    assert sql(parse_filter('email notin ["a", "b"]', FIELDS)) == "(users.email NOT IN ('a', 'b'))"
    assert "@>" in sql(parse_filter('allowed_client_ip contains "10.0.0.1"', FIELDS))


def test_enum_values_accept_names_and_values() -> None:
    cond = parse_filter('role in ["SUPERADMIN", "admin"]', FIELDS)
    assert cond.right.value == [UserRole.SUPERADMIN, UserRole.ADMIN]  # type: ignore[attr-defined]
    with pytest.raises(InvalidAPIParameters, match="not one of"):
        parse_filter('role == "emperor"', FIELDS)


@pytest.mark.parametrize("text, message", [
    ("nosuch == 1", "unknown field 'nosuch'"),
    ('email == ', "unexpected end"),
    ('email = "x"', "unexpected character"),
    ('email == "x" email', "unexpected 'email'"),
    ('(email == "x"', "expected )"),
    ('email in "x"', "needs a list"),
    ('created_at > "not a date"', "invalid value for created_at"),
])
def test_errors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidAPIParameters, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_filter(text, FIELDS)


def test_order() -> None:
    clauses = parse_order("-created_at, +email,rate_limit", FIELDS)
    assert [sql(c) for c in clauses] == ["users.created_at DESC", "users.email ASC", "keypairs.rate_limit ASC"]
    with pytest.raises(InvalidAPIParameters, match="unknown order field"):
        parse_order("password", FIELDS)

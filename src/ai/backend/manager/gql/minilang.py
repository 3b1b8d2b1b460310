"""The filter and order expressions of the `*_list` queries.

    filter: status == "ACTIVE" & (role in ["ADMIN", "SUPERADMIN"] | email ilike "%@example.com")
    order:  -created_at, +email

Binary operators: == != < <= > >= is isnot like ilike in notin contains; `&` binds tighter
than `|`; parentheses group. Field names are the API's, mapped to columns per type; enum
columns accept member names or values in any case. Errors name the offending part.
"""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from dateutil.parser import isoparse

from ..errors import InvalidAPIParameters
from ..models.base import EnumValueType

_TOKEN_RE = re.compile(r"""
    \s*(?:
      (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<op>==|!=|<=|>=|<|>)
    | (?P<punct>[&|()\[\],])
    | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""", re.VERBOSE)

_WORD_OPS = {"is", "isnot", "like", "ilike", "in", "notin", "contains"}


class FilterSyntaxError(InvalidAPIParameters):
    pass


@dataclass
class _Token:
    kind: str
    value: Any
    pos: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None or m.end() == pos:
            raise FilterSyntaxError(f"unexpected character at position {pos}: {text[pos:pos + 10]!r}")
        kind = m.lastgroup or ""
        raw, start = m.group(kind), m.start(kind)
        if kind == "string":
            value: Any = re.sub(r"\\(.)", r"\1", raw[1:-1])
        elif kind == "number":
            value = float(raw) if "." in raw else int(raw)
        elif kind == "word" and raw.lower() in _WORD_OPS:
            kind, value = "op", raw.lower()
        elif kind == "word" and raw.lower() in ("true", "false", "null", "none"):
            kind, value = "const", {"true": True, "false": False}.get(raw.lower())
        else:
            value = raw
        tokens.append(_Token(kind, value, start))
        pos = m.end()
    return tokens


FieldSpec = sa.ColumnElement[Any] | tuple[sa.ColumnElement[Any], Callable[[Any], Any]]


class _Parser:
    def __init__(self, text: str, fields: Mapping[str, FieldSpec]) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.fields = fields

    def _peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _next(self, what: str) -> _Token:
        tok = self._peek()
        if tok is None:
            raise FilterSyntaxError(f"unexpected end of the filter expression (expected {what})")
        self.i += 1
        return tok

    def _expect(self, kind: str, value: Any = None) -> _Token:
        tok = self._next(f"{value or kind}")
        if tok.kind != kind or (value is not None and tok.value != value):
            raise FilterSyntaxError(f"expected {value or kind} at position {tok.pos}, got {tok.value!r}")
        return tok

    def parse(self) -> sa.ColumnElement[bool]:
        expr = self._or()
        tok = self._peek()
        if tok is not None:
            raise FilterSyntaxError(f"unexpected {tok.value!r} at position {tok.pos}")
        return expr

    def _or(self) -> sa.ColumnElement[bool]:
        left = self._and()
        while (tok := self._peek()) is not None and tok.kind == "punct" and tok.value == "|":
            self.i += 1
            left = sa.or_(left, self._and())
        return left

    def _and(self) -> sa.ColumnElement[bool]:
        left = self._atom()
        while (tok := self._peek()) is not None and tok.kind == "punct" and tok.value == "&":
            self.i += 1
            left = sa.and_(left, self._atom())
        return left

    def _atom(self) -> sa.ColumnElement[bool]:
        tok = self._next("a condition")
        if tok.kind == "punct" and tok.value == "(":
            inner = self._or()
            self._expect("punct", ")")
            return inner
        if tok.kind != "word":
            raise FilterSyntaxError(f"expected a field name at position {tok.pos}, got {tok.value!r}")
        spec = self.fields.get(tok.value)
        if spec is None:
            raise FilterSyntaxError(f"unknown field {tok.value!r} (known: {', '.join(sorted(self.fields))})")
        column, convert = spec if isinstance(spec, tuple) else (spec, _converter_for(spec))
        op = self._expect("op").value
        value = self._value()
        try:
            return _condition(column, op, value, convert)
        except (ValueError, TypeError) as e:
            raise FilterSyntaxError(f"invalid value for {tok.value}: {e}") from None

    def _value(self) -> Any:
        tok = self._next("a value")
        if tok.kind in ("string", "number", "const"):
            return tok.value
        if tok.kind == "punct" and tok.value == "[":
            items: list[Any] = []
            if (nxt := self._peek()) is not None and nxt.kind == "punct" and nxt.value == "]":
                self.i += 1
                return items
            while True:
                items.append(self._value())
                sep = self._next("',' or ']'")
                if sep.kind == "punct" and sep.value == "]":
                    return items
                if not (sep.kind == "punct" and sep.value == ","):
                    raise FilterSyntaxError(f"expected ',' or ']' at position {sep.pos}")
        raise FilterSyntaxError(f"expected a value at position {tok.pos}, got {tok.value!r}")


def _converter_for(column: sa.ColumnElement[Any]) -> Callable[[Any], Any]:
    ctype = getattr(column, "type", None)
    if isinstance(ctype, EnumValueType):
        enum_cls: type[enum.Enum] = ctype.enum_cls

        def to_enum(v: Any) -> enum.Enum:
            if isinstance(v, str):
                for member in enum_cls:
                    if v.upper() == member.name or v.lower() == str(member.value).lower():
                        return member
            raise ValueError(f"{v!r} is not one of {', '.join(m.name for m in enum_cls)}")

        return to_enum
    if isinstance(ctype, sa.DateTime):
        return lambda v: isoparse(v) if isinstance(v, str) else v
    if isinstance(ctype, sa.Uuid):
        return lambda v: uuid.UUID(str(v))
    return lambda v: v


def _condition(column: sa.ColumnElement[Any], op: str, value: Any,
               convert: Callable[[Any], Any]) -> sa.ColumnElement[bool]:
    def conv(v: Any) -> Any:
        return None if v is None else convert(v)

    match op:
        case "==":
            return column.is_(None) if value is None else column == conv(value)
        case "!=":
            return column.is_not(None) if value is None else column != conv(value)
        case "<":
            return column < conv(value)
        case "<=":
            return column <= conv(value)
        case ">":
            return column > conv(value)
        case ">=":
            return column >= conv(value)
        case "is":
            return column.is_(conv(value))
        case "isnot":
            return column.is_not(conv(value))
        case "like":
            return column.like(str(value))
        case "ilike":
            return column.ilike(str(value))
        case "in" | "notin":
            if not isinstance(value, list):
                raise ValueError(f"{op} needs a list")
            cond = column.in_([conv(v) for v in value])
            return cond if op == "in" else ~cond
        case "contains":
            if isinstance(getattr(column, "type", None), sa.ARRAY):
                return column.contains([value])
            return column.contains(str(value))
    raise ValueError(f"unknown operator {op}")


def parse_filter(text: str, fields: Mapping[str, FieldSpec]) -> sa.ColumnElement[bool]:
    return _Parser(text, fields).parse()


def parse_order(text: str, fields: Mapping[str, FieldSpec]) -> list[sa.ColumnElement[Any]]:
    clauses: list[sa.ColumnElement[Any]] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        desc = part.startswith("-")
        name = part.lstrip("+-").strip()
        spec = fields.get(name)
        if spec is None:
            raise FilterSyntaxError(f"unknown order field {name!r} (known: {', '.join(sorted(fields))})")
        column = spec[0] if isinstance(spec, tuple) else spec
        clauses.append(column.desc() if desc else column.asc())
    return clauses


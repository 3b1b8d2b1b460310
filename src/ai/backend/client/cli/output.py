"""Listings and records in the two output styles the official CLI offers.

console: a tabulate "simple" table whose headers are the humanized field names;
json: `{"count", "total_count", "items": [...]}` keyed by each field's short name.
A `Field` names a GraphQL field (`ref`, possibly with a sub-selection), its column header
and how its value is shown.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import click
from tabulate import tabulate

_HEADERS = {"id": "ID", "uuid": "UUID", "group_id": "Group ID", "user_id": "User ID",
            "resource_policy": "Res.Policy", "concurrency_used": "Concur.Used"}


def humanize(name: str) -> str:
    if name in _HEADERS:
        return _HEADERS[name]
    if name.startswith("is_"):
        return humanize(name[3:]) + "?"
    return " ".join(w.capitalize() for w in name.split("_"))


def show(value: Any) -> str:
    """A value as the console shows it: null and empty containers are spelled out."""
    if value is None:
        return "(null)"
    if isinstance(value, list | dict | set | tuple) and not value:
        return "(empty)"
    if isinstance(value, list | tuple | set):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    return str(value)


def json_value(value: Any) -> Any:
    """Decode JSON-encoded strings (resource slots, nested dicts) for --output json."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def show_slots(value: Any) -> str:
    slots = json_value(value)
    if isinstance(slots, dict):
        return ", ".join(f"{k}:{v}" for k, v in slots.items())
    return show(slots)


def show_names(value: Any) -> str:
    """`groups { id name }` -> "a, b"."""
    if isinstance(value, list):
        return ", ".join(str(v.get("name") if isinstance(v, dict) else v) for v in value)
    return show(value)


def show_nested(value: Any) -> str:
    """A (JSON-encoded) nested dict as indented "+ key" / "- key: value" lines."""
    data = json_value(value)
    if data is None:
        return "(null)"
    if not isinstance(data, dict):
        return show(data)
    if not data:
        return "(empty)"
    lines: list[str] = []
    for k, v in data.items():
        if isinstance(v, dict) and v:
            lines.append(f"+ {k}")
            lines.extend("  " + line for line in show_nested(v).splitlines())
        elif isinstance(v, dict):
            lines.append(f"+ {k}: (empty)")
        else:
            lines.append(f"- {k}: {show(v)}")
    return "\n".join(lines)


def show_size(value: Any) -> str:
    """Bytes in binary units, GNU style: 512B, 1.5K, 3.0G."""
    if value is None:
        return "(null)"
    n = float(value)
    for unit in ("B", "K", "M", "G", "T", "P"):
        if abs(n) < 1024 or unit == "P":
            return f"{int(n)}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024
    return str(value)


def show_mib(value: Any) -> str:
    return show(None if value is None else round(float(value) / 2**20, 1))


@dataclass(frozen=True)
class Field:
    ref: str                          # GraphQL selection, e.g. "groups { id name }"
    header: str = ""
    alt: str = ""                     # the key in --output json
    fmt: Callable[[Any], str] = show
    pick: Callable[[Any], Any] | None = field(default=None)   # value from a nested object
    decode: bool = False              # a JSON-encoded string (slots, nested dicts): decode for JSON

    @property
    def name(self) -> str:
        return self.ref.partition(" ")[0]

    @property
    def title(self) -> str:
        return self.header or humanize(self.name)

    @property
    def key(self) -> str:
        return self.alt or self.name

    def value(self, item: Mapping[str, Any]) -> Any:
        v = item.get(self.name)
        return self.pick(v) if self.pick is not None and v is not None else v

    def json(self, item: Mapping[str, Any]) -> Any:
        v = self.value(item)
        return json_value(v) if self.decode else v


def Slots(ref: str, header: str = "") -> Field:  # (a Field factory)
    return Field(ref, header, fmt=show_slots, decode=True)


def Nested(ref: str, header: str = "") -> Field:
    return Field(ref, header, fmt=show_nested, decode=True)


def selection(fields: Sequence[Field]) -> str:
    return " ".join(f.ref for f in fields)


def is_json() -> bool:
    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.meta.get("client.output") == "json")


def _dump(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, default=str, ensure_ascii=False))


def print_list(items: Sequence[Mapping[str, Any]], fields: Sequence[Field], *,
               total: int | None = None, empty_msg: str = "No matching items.") -> None:
    if is_json():
        _dump({"count": len(items), "total_count": len(items) if total is None else total,
               "items": [{f.key: f.json(i) for f in fields} for i in items]})
        return
    if not items:
        click.echo(empty_msg)
        return
    rows = [[f.fmt(f.value(i)) for f in fields] for i in items]
    click.echo(tabulate(rows, headers=[f.title for f in fields], tablefmt="simple"))


def print_item(item: Mapping[str, Any] | None, fields: Sequence[Field]) -> None:
    if is_json():
        items = [] if item is None else [{f.key: f.json(item) for f in fields}]
        _dump({"count": len(items), "total_count": len(items), "items": items})
        return
    if item is None:
        click.echo("No matching entry found.")
        return
    click.echo(tabulate([(f.title, f.fmt(f.value(item))) for f in fields], headers=("Field", "Value")))


def print_result(data: Mapping[str, Any], *, action: str | None = None) -> None:
    """A mutation's outcome ({ok, msg, ...}) as a Field/Value table or JSON."""
    if is_json():
        _dump(dict(data))
        return
    rows = [(k, show(v) if not isinstance(v, dict) else json.dumps(v)) for k, v in data.items()]
    if action:
        rows.append(("Action", action))
    click.echo(tabulate(rows, headers=("Field", "Value")))


def print_json(obj: Any) -> None:
    _dump(obj)

"""GraphQL helpers for the admin listings: plain lists and `*_list` pages with total counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..output import Field, selection

PAGE_SIZE = 100   # the server's maximum page size


def query(session: Any, text: str, variables: Mapping[str, Any] | None = None) -> Any:
    return session.Admin.query(text, dict(variables or {}))


def fetch_list(session: Any, root: str, fields: Sequence[Field],
               args: Mapping[str, tuple[Any, str]] | None = None) -> list[dict[str, Any]]:
    """`root(args) { fields }` -> items. args: name -> (value, GraphQL type)."""
    args = dict(args or {})
    decl = ", ".join(f"${k}: {t}" for k, (_, t) in args.items())
    call = ", ".join(f"{k}: ${k}" for k in args)
    text = (f"query{f'({decl})' if decl else ''} {{ {root}{f'({call})' if call else ''} "
            f"{{ {selection(fields)} }} }}")
    data = query(session, text, {k: v for k, (v, _) in args.items()})
    return list(data[root] or [])


def fetch_item(session: Any, root: str, fields: Sequence[Field],
               args: Mapping[str, tuple[Any, str]]) -> dict[str, Any] | None:
    decl = ", ".join(f"${k}: {t}" for k, (_, t) in args.items())
    call = ", ".join(f"{k}: ${k}" for k in args)
    text = f"query({decl}) {{ {root}({call}) {{ {selection(fields)} }} }}"
    data = query(session, text, {k: v for k, (v, _) in args.items()})
    return data[root]


def fetch_pages(session: Any, root: str, fields: Sequence[Field],
                args: Mapping[str, tuple[Any, str]] | None = None, *,
                offset: int = 0, limit: int | None = None) -> tuple[list[dict[str, Any]], int]:
    """Items of a paginated `root` from `offset`: all of them, or `limit` of them."""
    args = dict(args or {})
    decl = "".join(f", ${k}: {t}" for k, (_, t) in args.items())
    call = "".join(f", {k}: ${k}" for k in args)
    text = (f"query($limit: Int!, $offset: Int!{decl}) {{ {root}(limit: $limit, offset: $offset{call}) "
            f"{{ items {{ {selection(fields)} }} total_count }} }}")
    items: list[dict[str, Any]] = []
    total = 0
    while True:
        size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - len(items))
        if size <= 0:
            break
        variables = {k: v for k, (v, _) in args.items()}
        variables.update(limit=size, offset=offset + len(items))
        page = query(session, text, variables)[root]
        total = int(page["total_count"])
        items.extend(page["items"])
        if not page["items"] or offset + len(items) >= total:
            break
    return items, total

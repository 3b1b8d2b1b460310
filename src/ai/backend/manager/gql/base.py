"""What every GraphQL type module shares: the resolver context, privilege checks, pagination
and the helpers that turn rows into JSON-string slot fields."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import graphene
import sqlalchemy as sa
from graphql import GraphQLResolveInfo
from sqlalchemy.ext.asyncio import AsyncConnection

from ai.backend.common.types import ResourceSlot

from ..context import RootContext
from ..errors import BackendError, Forbidden, InsufficientPrivilege, InvalidAPIParameters
from ..models.dbutils import dumps
from ..types import Requester
from .minilang import FieldSpec, parse_filter, parse_order


@dataclass
class GQLContext:
    root: RootContext
    requester: Requester
    cache: dict[str, Any] = field(default_factory=dict)   # per-request memo for nested resolvers

    @property
    def db(self) -> Any:
        return self.root.db


def ctx_of(info: GraphQLResolveInfo) -> GQLContext:
    return info.context  # type: ignore[no-any-return]


def require_superadmin(info: GraphQLResolveInfo) -> Requester:
    r = ctx_of(info).requester
    if not r.is_superadmin:
        raise InsufficientPrivilege("superadmin privilege required")
    return r


def require_admin(info: GraphQLResolveInfo) -> Requester:
    r = ctx_of(info).requester
    if not r.is_admin:
        raise InsufficientPrivilege("admin privilege required")
    return r


def domain_scope(requester: Requester, domain_name: str | None) -> str | None:
    """The domain a query may look at: superadmins choose (None = all); others get their own
    and may not ask for another one."""
    if requester.is_superadmin:
        return domain_name
    if domain_name is not None and domain_name != requester.domain_name:
        raise InsufficientPrivilege(f"no access to domain {domain_name!r}")
    return requester.domain_name


# --- value shaping ----------------------------------------------------------------------------

def slots_out(slots: Mapping[str, Any] | None) -> dict[str, str] | None:
    """A slot map for a JSONString field (graphene encodes it): decimal strings per slot."""
    if slots is None:
        return None
    rs = slots if isinstance(slots, ResourceSlot) else ResourceSlot(slots)
    return rs.to_json()


def plain_json(value: Any) -> Any:
    """A JSON-safe copy (Decimal/UUID/datetime to strings) for a JSONString field."""
    return None if value is None else json.loads(dumps(value))


def parse_json_input(value: Any, what: str) -> Any:
    """JSONString inputs arrive parsed by graphene; plain strings of JSON are accepted too."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise InvalidAPIParameters(f"{what} is not valid JSON") from None
    return value


def parse_slots_input(value: Any, what: str = "resource slots") -> ResourceSlot:
    """A slot map from input; "Infinity"/null amounts mean unlimited and are left out."""
    raw = parse_json_input(value, what)
    if raw is None:
        return ResourceSlot()
    if not isinstance(raw, Mapping):
        raise InvalidAPIParameters(f"{what} must be a JSON object")
    finite = {k: v for k, v in raw.items()
              if v is not None and str(v).strip().lower() not in ("infinity", "inf")}
    try:
        return ResourceSlot.from_user_input(finite)
    except ValueError as e:
        raise InvalidAPIParameters(f"{what}: {e}") from None


def enum_value(v: Any) -> Any:
    return getattr(v, "value", v)


# --- pagination -------------------------------------------------------------------------------

MAX_PAGE_SIZE = 100


@dataclass
class Page:
    total_count: int
    rows: Sequence[Any]


async def paginate(
    conn: AsyncConnection, query: sa.Select[Any], *, limit: int, offset: int,
    filter_expr: str | None, order_expr: str | None, fields: Mapping[str, FieldSpec],
    default_order: Sequence[sa.ColumnElement[Any]],
) -> Page:
    if not 0 < limit <= MAX_PAGE_SIZE:
        raise InvalidAPIParameters(f"limit must be between 1 and {MAX_PAGE_SIZE}")
    if offset < 0:
        raise InvalidAPIParameters("offset must not be negative")
    if filter_expr:
        query = query.where(parse_filter(filter_expr, fields))
    count_query = sa.select(sa.func.count()).select_from(query.order_by(None).subquery())
    total = int((await conn.execute(count_query)).scalar_one())
    order = parse_order(order_expr, fields) if order_expr else list(default_order)
    rows = (await conn.execute(query.order_by(*order).limit(limit).offset(offset))).all()
    return Page(total, rows)


def paginated_list_args(**extra: Any) -> dict[str, Any]:
    return {
        "limit": graphene.Int(required=True),
        "offset": graphene.Int(required=True),
        "filter": graphene.String(),
        "order": graphene.String(),
        **extra,
    }


async def mutate(info: GraphQLResolveInfo, result_cls: type[graphene.ObjectType], work: Any) -> Any:
    """Run `work(conn)` in one transaction and wrap it in a `{ok, msg, ...}` result.

    Privilege errors propagate (the query fails with an error); other known failures become
    ok=false with the reason in msg, as the official client expects. `work` returns the extra
    fields of the result type (or None).
    """
    ctx = ctx_of(info)
    try:
        async with ctx.db.begin() as conn:
            extra = await work(conn) or {}
    except Forbidden:
        raise
    except BackendError as e:
        return result_cls(ok=False, msg=str(e))
    return result_cls(ok=True, msg="success", **extra)

"""The function-class machinery: `api_function` makes one coroutine implementation serve
both session flavours (awaitable in AsyncSession, blocking in Session)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ..exceptions import BackendClientError

if TYPE_CHECKING:
    from ..session import BaseSession

__all__ = ("BaseFunction", "api_function", "resolve_session", "PaginatedResult", "undefined")


def resolve_session(owner: Any) -> BaseSession:
    """The session a function class (or its instance) is bound to, else the active one."""
    from ..session import api_session

    session = getattr(owner, "session", None)
    if session is not None:
        return session  # type: ignore[no-any-return]
    try:
        return api_session.get()
    except LookupError:
        raise BackendClientError("no client session is open (use `with Session():`)") from None


async def _in_session(session: BaseSession, coro: Any) -> Any:
    from ..session import api_session

    token = api_session.set(session)
    try:
        return await coro
    finally:
        api_session.reset(token)


async def _agen_in_session(session: BaseSession, agen: AsyncIterator[Any]) -> AsyncIterator[Any]:
    from ..session import api_session

    token = api_session.set(session)
    try:
        async for item in agen:
            yield item
    finally:
        api_session.reset(token)


def api_function(meth: Any) -> Any:
    """Decorate an async (generator) method or classmethod of a function class."""
    is_classmethod = isinstance(meth, classmethod)
    func: Callable[..., Any] = meth.__func__ if is_classmethod else meth
    is_agen = inspect.isasyncgenfunction(func)

    @functools.wraps(func)
    def wrapper(owner: Any, *args: Any, **kwargs: Any) -> Any:
        session = resolve_session(owner)
        if is_agen:
            agen = _agen_in_session(session, func(owner, *args, **kwargs))
            return session.worker_thread.execute_generator(agen) if session.is_sync else agen  # type: ignore[attr-defined]
        coro = _in_session(session, func(owner, *args, **kwargs))
        return session.worker_thread.execute(coro) if session.is_sync else coro  # type: ignore[attr-defined]

    return classmethod(wrapper) if is_classmethod else wrapper


class BaseFunction:
    """Base of all function classes; `session` is set on the per-session subclass."""

    session: ClassVar[BaseSession | None] = None


# --- GraphQL helpers shared by the admin-style function classes ------------------------------

MAX_PAGE_SIZE = 100


def field_refs(fields: Sequence[Any]) -> str:
    """GraphQL selection text from field names (or objects with a `field_ref`)."""
    return " ".join(f if isinstance(f, str) else str(f.field_ref) for f in fields)


@dataclass
class PaginatedResult:
    total_count: int
    items: list[dict[str, Any]]
    fields: Sequence[Any] = ()


async def gql(query: str, variables: Mapping[str, Any] | None = None) -> Any:
    """Run a GraphQL document in the active session and return its `data`."""
    from ..session import api_session

    return await api_session.get().Admin._query(query, variables)


async def gql_mutation(name: str, args: Mapping[str, tuple[Any, str]], result: str = "ok msg") -> dict[str, Any]:
    """`mutation(<decls>) { name(<args>) { result } }`; raises on `ok: false`."""
    decls = ", ".join(f"${k}: {t}" for k, (_, t) in args.items())
    call_args = ", ".join(f"{k}: ${k}" for k in args)
    query = f"mutation({decls}) {{ {name}({call_args}) {{ {result} }} }}"
    data = await gql(query, {k: v for k, (v, _) in args.items()})
    return data[name]  # type: ignore[no-any-return]


async def paginated_query(root: str, variables: Mapping[str, tuple[Any, str]], fields: Sequence[Any], *,
                          page_offset: int, page_size: int) -> PaginatedResult:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"the page size must be between 1 and {MAX_PAGE_SIZE}")
    all_vars = {"limit": (page_size, "Int!"), "offset": (page_offset, "Int!"), **variables}
    decls = ", ".join(f"${k}: {t}" for k, (_, t) in all_vars.items())
    call_args = ", ".join(f"{k}: ${k}" for k in all_vars)
    query = f"query({decls}) {{ {root}({call_args}) {{ items {{ {field_refs(fields)} }} total_count }} }}"
    data = await gql(query, {k: v for k, (v, _) in all_vars.items()})
    return PaginatedResult(data[root]["total_count"], data[root]["items"], fields)


def set_if_given(target: dict[str, Any], **values: Any) -> dict[str, Any]:
    """Copy the values that are not `undefined` (so updates send only what changes)."""
    target.update({k: v for k, v in values.items() if v is not undefined})
    return target


class _Undefined:
    def __repr__(self) -> str:
        return "undefined"

    def __bool__(self) -> bool:
        return False


undefined: Any = _Undefined()

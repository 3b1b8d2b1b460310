"""The admin GraphQL schema (root Query and Mutation) and its executor.

Validation skips the "variables in allowed position" rule: the official client declares
some variables with a looser type than the argument (e.g. `$user_group: String!` for a
UUID argument); resolvers validate such values themselves.
"""

from __future__ import annotations

import logging
from typing import Any

import graphene
from graphql import ExecutionResult, GraphQLError, parse, specified_rules, validate
from graphql import execute as graphql_execute
from graphql.validation import VariablesInAllowedPositionRule

from ..errors import BackendError
from .acl import ACLQueries
from .agent import AgentQueries
from .base import GQLContext
from .domain import DomainMutations, DomainQueries
from .group import GroupMutations, GroupQueries
from .image import ImageMutations, ImageQueries
from .keypair import KeyPairMutations, KeyPairQueries
from .resource_policy import PolicyMutations, PolicyQueries
from .resource_preset import ResourcePresetMutations, ResourcePresetQueries
from .scaling_group import ScalingGroupInput, ScalingGroupMutations, ScalingGroupQueries
from .session import SessionQueries
from .user import UserMutations, UserQueries
from .vfolder import VFolderQueries

log = logging.getLogger(__name__)


class Query(
    DomainQueries, GroupQueries, UserQueries, KeyPairQueries, PolicyQueries, ResourcePresetQueries,
    ScalingGroupQueries, AgentQueries, ImageQueries, SessionQueries, ACLQueries, VFolderQueries,
    graphene.ObjectType,
):
    pass


class Mutation(
    DomainMutations, GroupMutations, UserMutations, KeyPairMutations, PolicyMutations,
    ResourcePresetMutations, ScalingGroupMutations, ImageMutations, graphene.ObjectType,
):
    pass


schema = graphene.Schema(query=Query, mutation=Mutation, auto_camelcase=False, types=[ScalingGroupInput])

_RULES = [rule for rule in specified_rules if rule is not VariablesInAllowedPositionRule]


def _sanitize(err: GraphQLError) -> dict[str, Any]:
    original = err.original_error
    if original is not None and not isinstance(original, BackendError | ValueError | TypeError):
        log.error("GraphQL resolver failed at %s", err.path, exc_info=original)
        err = GraphQLError("internal server error (see the manager log)", err.nodes, err.source,
                           err.positions, err.path)
    return err.formatted  # type: ignore[return-value]


async def execute(query: str, variables: dict[str, Any] | None, context: GQLContext,
                  operation_name: str | None = None) -> tuple[Any, list[dict[str, Any]]]:
    """(data, errors) for one request; errors are already formatted for JSON."""
    try:
        document = parse(query)
    except GraphQLError as e:
        return None, [e.formatted]  # type: ignore[list-item]
    errors = validate(schema.graphql_schema, document, _RULES)
    if errors:
        return None, [e.formatted for e in errors]  # type: ignore[misc]
    result = graphql_execute(schema.graphql_schema, document, variable_values=variables or {},
                             context_value=context, operation_name=operation_name)
    if not isinstance(result, ExecutionResult):
        result = await result
    return result.data, [_sanitize(e) for e in (result.errors or [])]

"""The storage-host permission vocabulary (what `backend.ai admin ... vfolder-host-perms` shows)."""

from __future__ import annotations

import graphene
from graphql import GraphQLResolveInfo

from ..models import VFolderHostPermission


class PredefinedAtomicPermission(graphene.ObjectType):
    vfolder_host_permission_list = graphene.List(lambda: graphene.String)


class ACLQueries:
    vfolder_host_permissions = graphene.Field(PredefinedAtomicPermission)

    async def resolve_vfolder_host_permissions(self, info: GraphQLResolveInfo) -> PredefinedAtomicPermission:
        return PredefinedAtomicPermission(vfolder_host_permission_list=[p.value for p in VFolderHostPermission])

"""Image type, queries and mutations (rescan, alias, dealias, forget: superadmin only)."""

from __future__ import annotations

from typing import Any

import graphene
from graphql import GraphQLResolveInfo

from ..errors import InvalidAPIParameters, ObjectNotFound
from ..models import domains
from ..services import bgtask, image_scan
from ..services import images as image_service
from .base import ctx_of, enum_value, mutate, require_superadmin


class KVPair(graphene.ObjectType):
    key = graphene.String()
    value = graphene.String()


class ResourceLimit(graphene.ObjectType):
    key = graphene.String()
    min = graphene.String()
    max = graphene.String()


class Image(graphene.ObjectType):
    id = graphene.UUID()
    name = graphene.String()
    humanized_name = graphene.String()
    tag = graphene.String()
    registry = graphene.String()
    architecture = graphene.String()
    digest = graphene.String()
    labels = graphene.List(KVPair)
    aliases = graphene.List(lambda: graphene.String)
    size_bytes = graphene.BigInt()
    resource_limits = graphene.List(ResourceLimit)
    supported_accelerators = graphene.List(lambda: graphene.String)
    installed = graphene.Boolean()
    installed_agents = graphene.List(lambda: graphene.String)
    type = graphene.String()

    @classmethod
    def from_row(cls, row: Any, aliases: list[str], agents: list[str], *, show_agents: bool) -> Image:
        labels = row.labels or {}
        return cls(
            id=row.id, name=row.image, humanized_name=row.image, tag=row.tag, registry=row.registry,
            architecture=row.architecture, digest=row.config_digest,
            labels=[KVPair(key=k, value=v) for k, v in sorted(labels.items())], aliases=aliases,
            size_bytes=row.size_bytes,
            resource_limits=[ResourceLimit(key=k, min=v.get("min") or "0", max=v.get("max") or "Infinity")
                             for k, v in sorted((row.resources or {}).items())],
            supported_accelerators=[a for a in (row.accelerators or "").split(",") if a] or ["*"],
            installed=bool(agents), installed_agents=agents if show_agents else None, type=enum_value(row.type),
        )


async def _installed_agents(info: GraphQLResolveInfo, names: list[str]) -> dict[str, list[str]]:
    """Agents report the images they hold as Redis sets named after the canonical reference."""
    redis = ctx_of(info).root.redis.image
    out: dict[str, list[str]] = {}
    for name in names:
        members = await redis.smembers(name)
        out[name] = sorted(m.decode() if isinstance(m, bytes) else str(m) for m in members)
    return out


def _is_operation(row: Any) -> bool:
    features = str((row.labels or {}).get("ai.backend.features", "")).split()
    return "operation" in features


class ImageQueries:
    image = graphene.Field(Image, reference=graphene.String(required=True), architecture=graphene.String())
    images = graphene.List(Image, is_installed=graphene.Boolean(), is_operation=graphene.Boolean(),
                           domain=graphene.String(), group=graphene.String(), scaling_group=graphene.String())

    async def resolve_image(self, info: GraphQLResolveInfo, reference: str, architecture: str | None = None) -> Image | None:
        ctx = ctx_of(info)
        async with ctx.db.connect() as conn:
            try:
                row = await image_service.resolve(conn, reference, architecture)
            except (ObjectNotFound, InvalidAPIParameters):
                return None
            aliases = (await image_service.aliases_of(conn, [row.id]))[row.id]
        agents = (await _installed_agents(info, [row.name]))[row.name]
        return Image.from_row(row, aliases, agents, show_agents=ctx.requester.is_superadmin)

    async def resolve_images(self, info: GraphQLResolveInfo, is_installed: bool | None = None,
                             is_operation: bool | None = None, domain: str | None = None,
                             group: str | None = None, scaling_group: str | None = None) -> list[Image]:
        ctx = ctx_of(info)
        r = ctx.requester
        registries: list[str] | None = None
        async with ctx.db.connect() as conn:
            domain_name = domain if (domain and r.is_superadmin) else (None if r.is_superadmin else r.domain_name)
            if domain_name is not None:
                row = (await conn.execute(domains.select().where(domains.c.name == domain_name))).first()
                registries = list(row.allowed_docker_registries or []) if row else []
            rows = (await conn.execute(image_service.select_images(registries=registries))).all()
            rows = [row for row in rows if bool(is_operation) == _is_operation(row)]
            aliases = await image_service.aliases_of(conn, [row.id for row in rows])
        agents = await _installed_agents(info, [row.name for row in rows])
        items = [Image.from_row(row, aliases[row.id], agents[row.name], show_agents=r.is_superadmin) for row in rows]
        if is_installed is not None:
            items = [i for i in items if i.installed == is_installed]
        return items


class RescanImages(graphene.Mutation):
    class Arguments:
        registry = graphene.String()

    ok = graphene.Boolean()
    msg = graphene.String()
    task_id = graphene.String()

    async def mutate(self, info: GraphQLResolveInfo, registry: str | None = None) -> RescanImages:
        require_superadmin(info)
        root = ctx_of(info).root
        ssl_verify = root.local_config["docker-registry"]["ssl-verify"]

        async def body(report: bgtask.Reporter) -> str:
            result = await image_scan.rescan(root.db, root.shared_config, registry or None, ssl_verify=ssl_verify)
            await report(result.summary())
            return result.summary()

        task_id = await bgtask.start(root, body, name="rescan-images")
        return RescanImages(ok=True, msg="", task_id=str(task_id))


class AliasImage(graphene.Mutation):
    class Arguments:
        alias = graphene.String(required=True)
        target = graphene.String(required=True)
        architecture = graphene.String()

    ok = graphene.Boolean()
    msg = graphene.String()

    async def mutate(self, info: GraphQLResolveInfo, alias: str, target: str,
                     architecture: str | None = None) -> AliasImage:
        require_superadmin(info)
        return await mutate(info, AliasImage, lambda conn: image_service.alias(conn, alias, target, architecture))


class DealiasImage(graphene.Mutation):
    class Arguments:
        alias = graphene.String(required=True)

    ok = graphene.Boolean()
    msg = graphene.String()

    async def mutate(self, info: GraphQLResolveInfo, alias: str) -> DealiasImage:
        require_superadmin(info)
        return await mutate(info, DealiasImage, lambda conn: image_service.dealias(conn, alias))


class ForgetImage(graphene.Mutation):
    class Arguments:
        reference = graphene.String(required=True)
        architecture = graphene.String()

    ok = graphene.Boolean()
    msg = graphene.String()

    async def mutate(self, info: GraphQLResolveInfo, reference: str, architecture: str | None = None) -> ForgetImage:
        require_superadmin(info)
        return await mutate(info, ForgetImage, lambda conn: image_service.forget(conn, reference, architecture))


class ImageMutations:
    rescan_images = RescanImages.Field()
    alias_image = AliasImage.Field()
    dealias_image = DealiasImage.Field()
    forget_image = ForgetImage.Field()

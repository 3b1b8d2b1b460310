"""Session templates: users store reusable session-creation parameters (the manual's
"task template" YAML/JSON) and later start sessions from them.

A template belongs to the user of the owner keypair and to one project; the owner sees and
edits it, an admin of its domain (or a superadmin) may too.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import sqlalchemy as sa
import trafaret as t
import yaml
from sqlalchemy.ext.asyncio import AsyncEngine

from ..errors import Forbidden, InvalidAPIParameters, ObjectNotFound
from ..models.group import groups
from ..models.session_template import TemplateType, session_templates
from ..models.user import users
from ..types import Owner, Requester
from . import groups as group_service

_str_map = t.Mapping(t.String, t.Null | t.String(allow_blank=True) | t.Int | t.Float)

_git = t.Dict({
    t.Key("repository"): t.String,
    t.Key("commit", optional=True): t.Null | t.String,
    t.Key("branch", optional=True): t.Null | t.String,
    t.Key("credential", optional=True): t.Null | t.Dict({t.Key("username"): t.String, t.Key("password"): t.String}),
    t.Key("destination_dir", optional=True, to_name="destinationDir"): t.Null | t.String,
    t.Key("destinationDir", optional=True): t.Null | t.String,
})

_kernel = t.Dict({
    t.Key("image"): t.String,
    t.Key("architecture", optional=True): t.String,
    t.Key("environ", optional=True): t.Null | _str_map,
    t.Key("run", optional=True): t.Null | t.Dict({
        t.Key("bootstrap", optional=True): t.Null | t.String(allow_blank=True),
        t.Key("startup_command", optional=True): t.Null | t.String(allow_blank=True),
        t.Key("startup", optional=True, to_name="startup_command"): t.Null | t.String(allow_blank=True),
        t.Key("stratup", optional=True, to_name="startup_command"): t.Null | t.String(allow_blank=True),
        t.Key("startupCommand", optional=True, to_name="startup_command"): t.Null | t.String(allow_blank=True),
    }),
    t.Key("git", optional=True): t.Null | _git,
})

_template = t.Dict({
    t.Key("api_version", optional=True): t.String,
    t.Key("apiVersion", optional=True, to_name="api_version"): t.String,
    t.Key("kind"): t.Enum("taskTemplate", "task_template"),
    t.Key("metadata"): t.Dict({t.Key("name"): t.String, t.Key("tag", optional=True): t.Null | t.String}),
    t.Key("spec"): t.Dict({
        t.Key("type", optional=True): t.Enum("interactive", "batch", "inference"),
        t.Key("sessionType", optional=True, to_name="type"): t.Enum("interactive", "batch", "inference"),
        t.Key("session_type", optional=True, to_name="type"): t.Enum("interactive", "batch", "inference"),
        t.Key("kernel"): _kernel,
        t.Key("scaling_group", optional=True): t.Null | t.String,
        t.Key("scalingGroup", optional=True, to_name="scaling_group"): t.Null | t.String,
        t.Key("mounts", optional=True): t.Null | t.Mapping(t.String, t.Null | t.String(allow_blank=True)),
        t.Key("resources", optional=True): t.Null | _str_map,
        t.Key("agent_list", optional=True): t.Null | t.List(t.String),
    }),
})


def parse_payload(payload: str) -> list[dict[str, Any]]:
    """One template or a list of them, from YAML or JSON text; each validated."""
    try:
        data = yaml.safe_load(payload)
    except yaml.YAMLError as e:
        raise InvalidAPIParameters(f"the template payload is neither valid YAML nor JSON: {e}") from None
    docs = data if isinstance(data, list) else [data]
    if not docs:
        raise InvalidAPIParameters("the template payload is empty")
    result = []
    for i, doc in enumerate(docs):
        if not isinstance(doc, dict):
            raise InvalidAPIParameters(f"template #{i}: expected a mapping, got {type(doc).__name__}")
        try:
            tpl = _template.check(doc)
        except t.DataError as e:
            detail = e.as_dict(value=True)
            raise InvalidAPIParameters(f"template #{i} is invalid: {json.dumps(detail)}", data=detail) from None
        tpl.setdefault("api_version", "v1")
        tpl["kind"] = "task_template"
        tpl["spec"].setdefault("type", "interactive")
        result.append(tpl)
    return result


async def create(db: AsyncEngine, requester: Requester, owner: Owner, domain_name: str | None,
                 group_name: str | None, payload: str) -> list[dict[str, Any]]:
    templates = parse_payload(payload)
    domain_name = domain_name or owner.domain_name
    if domain_name != owner.domain_name:
        raise InvalidAPIParameters(f"the owner belongs to domain {owner.domain_name!r}, not {domain_name!r}")
    async with db.begin() as conn:
        group = await group_service.resolve_for_owner(conn, owner, group_name or "default",
                                                      admin_override=requester.can_manage_domain(domain_name))
        rows = []
        for tpl in templates:
            tid = uuid.uuid4()
            await conn.execute(session_templates.insert().values(
                id=tid, domain_name=domain_name, group_id=group.id, user_uuid=owner.user_uuid,
                type=TemplateType.TASK, name=tpl["metadata"]["name"], template=tpl,
            ))
            rows.append({"id": tid.hex, "user": str(owner.user_uuid)})
    return rows


def _visible(requester: Requester, owner: Owner, list_all: bool) -> sa.ColumnElement[bool]:
    active = session_templates.c.is_active.is_(True)
    if list_all and requester.is_superadmin:
        return active
    if list_all and requester.is_admin:
        return active & (session_templates.c.domain_name == requester.domain_name)
    return active & (session_templates.c.user_uuid == owner.user_uuid)


async def list_templates(db: AsyncEngine, requester: Requester, owner: Owner, list_all: bool,
                         group_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    cond = _visible(requester, owner, list_all)
    if group_id is not None:
        cond = cond & (session_templates.c.group_id == group_id)
    query = (
        sa.select(session_templates, users.c.email, groups.c.name.label("group_name"))
        .select_from(session_templates.join(users, session_templates.c.user_uuid == users.c.uuid)
                     .outerjoin(groups, session_templates.c.group_id == groups.c.id))
        .where(cond).order_by(session_templates.c.created_at, session_templates.c.id)
    )
    async with db.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [{
        "name": r.name, "id": r.id.hex, "created_at": r.created_at.isoformat(),
        "is_owner": r.user_uuid == owner.user_uuid, "type": r.type.value,
        "user": str(r.user_uuid), "user_email": r.email,
        "group": str(r.group_id) if r.group_id else None, "group_name": r.group_name,
        "domain_name": r.domain_name, "template": r.template,
    } for r in rows]


def _parse_id(template_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(template_id)
    except ValueError:
        raise InvalidAPIParameters(f"invalid template id: {template_id!r}") from None


async def _load(conn: Any, requester: Requester, owner: Owner, template_id: str) -> Any:
    row = (await conn.execute(sa.select(session_templates).where(
        (session_templates.c.id == _parse_id(template_id)) & session_templates.c.is_active.is_(True)
    ))).first()
    if row is None:
        raise ObjectNotFound(object_name="session template")
    if row.user_uuid != owner.user_uuid and not requester.can_manage_domain(row.domain_name):
        raise ObjectNotFound(object_name="session template")   # do not reveal others' templates
    return row


async def get(db: AsyncEngine, requester: Requester, owner: Owner, template_id: str) -> dict[str, Any]:
    async with db.connect() as conn:
        row = await _load(conn, requester, owner, template_id)
    return dict(row.template)


async def update(db: AsyncEngine, requester: Requester, owner: Owner, template_id: str, payload: str,
                 group_name: str | None = None, domain_name: str | None = None) -> None:
    templates = parse_payload(payload)
    if len(templates) != 1:
        raise InvalidAPIParameters("an update takes exactly one template")
    tpl = templates[0]
    async with db.begin() as conn:
        row = await _load(conn, requester, owner, template_id)
        values: dict[str, Any] = {"template": tpl, "name": tpl["metadata"]["name"]}
        if group_name:
            grp = await group_service.resolve(conn, row.domain_name, group_name)
            values["group_id"] = grp.id
        if domain_name and domain_name != row.domain_name:
            raise Forbidden("a template cannot move to another domain")
        await conn.execute(session_templates.update().where(session_templates.c.id == row.id).values(**values))


async def delete(db: AsyncEngine, requester: Requester, owner: Owner, template_id: str) -> None:
    async with db.begin() as conn:
        row = await _load(conn, requester, owner, template_id)
        await conn.execute(session_templates.update().where(session_templates.c.id == row.id)
                           .values(is_active=False))

"""Resource presets and the check-presets report: which presets fit the caller's remaining
quota (keypair, project, domain) and the free capacity of a resource group's agents."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ai.backend.common.types import ResourceSlot, SlotTypes

from ..errors import Forbidden, ObjectNotFound
from ..models import domains, keypair_resource_policies, resource_presets
from ..types import Owner
from . import groups as group_service
from . import quota
from . import scaling_groups as sgroup_service


def preset_json(row: Any, known_slots: dict[str, SlotTypes] | None = None) -> dict[str, Any]:
    slots: ResourceSlot = row.resource_slots or ResourceSlot()
    return {
        "id": str(row.id),
        "name": row.name,
        "resource_slots": slots.to_json(),
        "shared_memory": str(row.shared_memory) if row.shared_memory is not None else None,
        "scaling_group_name": row.scaling_group_name,
    }


async def list_presets(conn: AsyncConnection, scaling_group: str | None = None) -> list[Any]:
    """Global presets plus those of `scaling_group` (all presets when it is None)."""
    query = sa.select(resource_presets).order_by(resource_presets.c.name)
    if scaling_group is not None:
        query = query.where(
            resource_presets.c.scaling_group_name.is_(None)
            | (resource_presets.c.scaling_group_name == scaling_group)
        )
    return list((await conn.execute(query)).all())


async def check_presets(db: AsyncEngine, known: dict[str, SlotTypes], owner: Owner,
                        group: str, scaling_group: str | None, *, admin_override: bool) -> dict[str, Any]:
    slot_names = list(known)
    async with db.connect() as conn:
        grp = await group_service.resolve_for_owner(conn, owner, group, admin_override=admin_override)
        allowed = await sgroup_service.allowed_names(
            conn, domain_name=owner.domain_name, group_id=grp.id, access_key=owner.access_key)
        if scaling_group is not None and scaling_group not in allowed:
            raise Forbidden(f"resource group {scaling_group!r} is not allowed for this keypair/project/domain")
        targets = [scaling_group] if scaling_group is not None else allowed

        policy = (await conn.execute(
            sa.select(keypair_resource_policies).where(keypair_resource_policies.c.name == owner.resource_policy)
        )).first()
        if policy is None:
            raise ObjectNotFound(f"keypair resource policy {owner.resource_policy!r}")
        domain = (await conn.execute(sa.select(domains).where(domains.c.name == owner.domain_name))).first()

        kp_limits = quota.policy_limits(policy.total_resource_slots, policy.default_for_unspecified, slot_names)
        kp_using = await quota.keypair_usage(conn, owner.access_key)
        grp_limits = quota.open_limits(grp.total_resource_slots, slot_names)
        grp_using = await quota.group_usage(conn, grp.id)
        dom_limits = quota.open_limits(domain.total_resource_slots if domain else None, slot_names)
        dom_using = await quota.domain_usage(conn, owner.domain_name)
        kp_rem = quota.remaining(kp_limits, kp_using)
        grp_rem = quota.remaining(grp_limits, grp_using)
        dom_rem = quota.remaining(dom_limits, dom_using)

        per_sgroup: dict[str, Any] = {}
        agent_free: list[ResourceSlot] = []
        sgroup_total_free = ResourceSlot({s: 0 for s in slot_names})
        for sg in targets:
            capacity = await quota.sgroup_agent_capacity(conn, sg)
            free = ResourceSlot({s: 0 for s in slot_names})
            for available, occupied in capacity.values():
                left = available - occupied
                agent_free.append(left)
                free = free + left
            sgroup_total_free = sgroup_total_free + free
            per_sgroup[sg] = {
                "using": quota.slots_json(await quota.keypair_usage(conn, owner.access_key, sg), slot_names),
                "remaining": quota.slots_json(free, slot_names),
            }
        presets = await list_presets(conn, scaling_group)

    def allocatable(slots: ResourceSlot) -> bool:
        if not quota.fits(slots, kp_rem, grp_rem, dom_rem):
            return False
        return any(slots <= free for free in agent_free)

    return {
        "keypair_limits": quota.limits_json(kp_limits),
        "keypair_using": quota.slots_json(kp_using, slot_names),
        "keypair_remaining": quota.limits_json(kp_rem),
        "group_limits": quota.limits_json(grp_limits),
        "group_using": quota.slots_json(grp_using, slot_names),
        "group_remaining": quota.limits_json(grp_rem),
        "domain_limits": quota.limits_json(dom_limits),
        "domain_using": quota.slots_json(dom_using, slot_names),
        "domain_remaining": quota.limits_json(dom_rem),
        "scaling_group_remaining": quota.slots_json(sgroup_total_free, slot_names),
        "scaling_groups": per_sgroup,
        "presets": [
            {**preset_json(p), "allocatable": allocatable(p.resource_slots or ResourceSlot())}
            for p in presets
        ],
    }


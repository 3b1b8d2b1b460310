"""Each predicate's rejection, recorded by the real loop in status_info / status_data."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from ai.backend.common.status import SessionStatus
from ai.backend.common.types import ResourceSlot
from ai.backend.manager.models import (
    domains,
    groups,
    images,
    keypair_resource_policies,
    scaling_groups,
    user_resource_policies,
)
from manager.sessions_sched.conftest import session_row, wait_agents, wait_status, wait_until
from manager.sessions_sched.factories import IMAGE, create_pending

S = SessionStatus


async def _reason(db: Any, sid: uuid.UUID) -> Any:
    async def has() -> bool:
        row = await session_row(db, sid)
        return row.status != S.PENDING or bool(row.status_data and "scheduler" in row.status_data)

    await wait_until(has, 10, "a scheduling decision")
    return await session_row(db, sid)


async def _update(db: Any, stmt: Any) -> None:
    async with db.begin() as conn:
        await conn.execute(stmt)


CASES = ["keypair_resource_limit", "user_resource_limit", "group_resource_limit", "domain_resource_limit",
         "max_containers_per_session", "image_min_slots", "scaling_group_access", "architecture",
         "starts_at"]


@pytest.mark.parametrize("case", CASES)
async def test_rejection_reason(manager: Any, producer: Any, case: str) -> None:
    db = manager.db
    kw: dict[str, Any] = {"slots": {"cpu": "2", "mem": "1g"}}
    if case == "keypair_resource_limit":
        await _update(db, sa.update(keypair_resource_policies).values(total_resource_slots=ResourceSlot({"cpu": 1})))
    elif case == "user_resource_limit":
        await _update(db, sa.update(user_resource_policies).values(total_resource_slots=ResourceSlot({"cpu": 1})))
    elif case == "group_resource_limit":
        await _update(db, sa.update(groups).values(total_resource_slots=ResourceSlot({"cpu": 1})))
    elif case == "domain_resource_limit":
        await _update(db, sa.update(domains).values(total_resource_slots=ResourceSlot({"cpu": 1})))
    elif case == "max_containers_per_session":
        await _update(db, sa.update(keypair_resource_policies).values(max_containers_per_session=2))
        kw["cluster_size"] = 3
    elif case == "image_min_slots":
        await _update(db, sa.insert(images).values(
            id=uuid.uuid4(), name=IMAGE, image="stable/python", tag="3.11-debian12", registry="cr.backend.ai",
            architecture="x86_64", config_digest="sha256:x", resources={"cpu": {"min": "3", "max": None}}))
    elif case == "scaling_group_access":
        await _update(db, sa.insert(scaling_groups).values(name="private", is_active=True))
        kw["scaling_group"] = "private"
    elif case == "architecture":
        kw["architecture"] = "aarch64"
    elif case == "starts_at":
        kw["starts_at"] = datetime.now(UTC) + timedelta(hours=1)
    sid = await create_pending(db, producer=producer, **kw)
    row = await _reason(db, sid)
    assert row.status == S.PENDING, row.status_info
    sched = row.status_data["scheduler"]
    expected_check = "agent_capacity" if case == "architecture" else case
    assert sched["check"] == expected_check
    assert row.status_info.startswith(f"{expected_check}: ")
    if case.endswith("_resource_limit"):
        assert sched["slot"] == "cpu" and sched["requested"] == "2" and sched["limit"] == "1"
        assert sched["missing"] == "1"
    elif case == "max_containers_per_session":
        assert (sched["limit"], sched["requested"]) == (2, 3)
    elif case == "image_min_slots":
        assert (sched["slot"], sched["requested"], sched["minimum"]) == ("cpu", "2", "3")
    elif case == "scaling_group_access":
        assert sched["scaling_group"] == "private" and sched["allowed"] == ["default"]
    elif case == "architecture":
        assert sched["architecture"] == "aarch64"
        assert "no agent with architecture aarch64" in sched["msg"]


async def test_concurrency_limit(manager: Any, sim: Any, producer: Any) -> None:
    await _update(manager.db, sa.update(keypair_resource_policies).values(max_concurrent_sessions=1))
    await sim.start(1)
    await wait_agents(manager.db, 1)
    first = await create_pending(manager.db, slots={"cpu": "1", "mem": "1g"}, producer=producer)
    await wait_status(manager.db, first, S.RUNNING)
    second = await create_pending(manager.db, slots={"cpu": "1", "mem": "1g"}, producer=producer)
    row = await _reason(manager.db, second)
    assert row.status == S.PENDING
    assert row.status_data["scheduler"]["check"] == "concurrency"
    assert (row.status_data["scheduler"]["limit"], row.status_data["scheduler"]["used"]) == (1, 1)


async def test_dependencies_wait_then_run_or_cancel(manager: Any, sim: Any, producer: Any, mctx: Any) -> None:
    from ai.backend.common.status import SessionTypes
    from ai.backend.manager.services.session_termination import destroy_session

    await sim.start(1)
    await wait_agents(manager.db, 1)
    # an interactive session never "succeeds": its dependents wait while it runs
    running = await create_pending(manager.db, slots={"cpu": "1", "mem": "1g"}, producer=producer)
    await wait_status(manager.db, running, S.RUNNING)
    waiter = await create_pending(manager.db, slots={"cpu": "1", "mem": "1g"}, depends_on=[running],
                                  producer=producer)
    row = await _reason(manager.db, waiter)
    assert row.status == S.PENDING and row.status_data["scheduler"]["check"] == "dependencies"
    assert row.status_data["scheduler"]["waiting"] == [str(running)]
    # ...and are cancelled once it ends without success
    await destroy_session(mctx, running)
    row = await wait_status(manager.db, waiter, S.CANCELLED)
    assert row.status_info.startswith("dependencies: ")
    assert row.status_data["scheduler"]["failed"] == [str(running)]
    # a successful batch session lets its dependent start
    batch = await create_pending(manager.db, slots={"cpu": "1", "mem": "1g"}, session_type=SessionTypes.BATCH,
                                 startup_command="true", producer=producer)
    after = await create_pending(manager.db, slots={"cpu": "1", "mem": "1g"}, depends_on=[batch],
                                 producer=producer)
    await wait_status(manager.db, batch, S.TERMINATED)
    await wait_status(manager.db, after, S.RUNNING)

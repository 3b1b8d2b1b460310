"""SessionTemplate and Dotfile function classes against a real manager."""

from __future__ import annotations

import pytest
import yaml

from ai.backend.client.config import APIConfig
from ai.backend.client.exceptions import BackendAPIError
from ai.backend.client.session import AsyncSession
from manager.helpers import USER

TEMPLATE = """
api_version: v1
kind: taskTemplate
metadata:
  name: sdk-template
spec:
  kernel:
    image: python:3.11-ubuntu
  resources:
    cpu: '1'
"""


async def test_session_template_functions(user_config: APIConfig) -> None:
    async with AsyncSession(config=user_config) as session:
        tpl = await session.SessionTemplate.create(TEMPLATE, group_name="default")
        assert len(tpl.template_id) == 32
        listed = await session.SessionTemplate.list_templates()
        assert [(t["id"], t["name"]) for t in listed] == [(tpl.template_id, "sdk-template")]
        text = await tpl.get()
        assert yaml.safe_load(text)["spec"]["kernel"]["image"] == "python:3.11-ubuntu"
        assert '"sdk-template"' in await tpl.get(body_format="json")
        await tpl.put(TEMPLATE.replace("sdk-template", "sdk-renamed"))
        assert yaml.safe_load(await tpl.get())["metadata"]["name"] == "sdk-renamed"
        with pytest.raises(BackendAPIError) as info:
            await session.SessionTemplate.create("kind: nope")
        assert info.value.status == 400
        await tpl.delete()
        assert await session.SessionTemplate.list_templates() == []


async def test_dotfile_functions(api_config: APIConfig, user_config: APIConfig) -> None:
    async with AsyncSession(config=user_config) as session:
        df = await session.Dotfile.create("set -o vi\n", ".inputrc", "644")
        assert await session.Dotfile.list_dotfiles() == [{"path": ".inputrc", "permission": "644",
                                                         "data": "set -o vi\n"}]
        await df.update("set editing-mode emacs\n", "600")
        assert (await df.get())["permission"] == "600"
        await df.delete()
        assert await session.Dotfile.list_dotfiles() == []
        with pytest.raises(BackendAPIError) as info:
            await session.Dotfile.create("x", ".g", "644", group="default")
        assert info.value.status == 403
    async with AsyncSession(config=api_config) as session:
        await session.Dotfile.create("for you\n", ".note", "644", owner_access_key=USER[0])
        assert [d["path"] for d in await session.Dotfile.list_dotfiles(owner_access_key=USER[0])] == [".note"]
        g = await session.Dotfile.create("grp\n", ".grp", "644", group="default", domain="default")
        d = await session.Dotfile.create("dom\n", ".dom", "644", domain="default")
        assert [x["path"] for x in await session.Dotfile.list_dotfiles(group="default", domain="default")] == [".grp"]
        assert [x["path"] for x in await session.Dotfile.list_dotfiles(domain="default")] == [".dom"]
        await g.delete()
        await d.delete()

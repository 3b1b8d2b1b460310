"""Dotfiles of users, projects and domains against a real manager: CRUD, validation,
privileges, the official client's `onwer_access_key` spelling, and the size limit."""

from __future__ import annotations

from manager.helpers import USER, SignedClient


async def test_user_dotfiles_crud(user: SignedClient) -> None:
    r = await user.request("POST", "/user-config/dotfiles",
                           json_body={"data": "alias ll='ls -al'\n", "path": ".bashrc", "permission": "644"})
    assert r.status == 200, r.body
    r = await user.request("POST", "/user-config/dotfiles",
                           json_body={"data": "x", "path": ".bashrc", "permission": "644"})
    assert r.status == 409 and r.content_type == "application/problem+json"
    r = await user.request("GET", "/user-config/dotfiles")
    assert r.body == [{"path": ".bashrc", "permission": "644", "data": "alias ll='ls -al'\n"}]
    r = await user.request("PATCH", "/user-config/dotfiles",
                           json_body={"data": "set -o vi\n", "path": ".bashrc", "permission": "600"})
    assert r.status == 200
    r = await user.request("GET", "/user-config/dotfiles", params={"path": ".bashrc"})
    assert r.body == {"path": ".bashrc", "permission": "600", "data": "set -o vi\n"}
    r = await user.request("DELETE", "/user-config/dotfiles", params={"path": ".bashrc"})
    assert r.status == 200
    assert (await user.request("GET", "/user-config/dotfiles")).body == []
    r = await user.request("DELETE", "/user-config/dotfiles", params={"path": ".bashrc"})
    assert r.status == 404


async def test_bad_paths_permissions_and_size(user: SignedClient) -> None:
    for path in ("/etc/passwd", "../escape", "a/../../b", ""):
        r = await user.request("POST", "/user-config/dotfiles", json_body={"data": "x", "path": path,
                                                                          "permission": "644"})
        assert r.status == 400, (path, r.body)
    r = await user.request("POST", "/user-config/dotfiles", json_body={"data": "x", "path": ".x", "permission": "999"})
    assert r.status == 400 and "permission" in r.body["msg"]
    r = await user.request("POST", "/user-config/dotfiles", json_body={"path": ".x", "permission": "644"})
    assert r.status == 400 and "data" in r.body["msg"]
    r = await user.request("POST", "/user-config/dotfiles",
                           json_body={"data": "x" * (64 * 1024 + 1), "path": ".big", "permission": "644"})
    assert r.status == 413
    assert (await user.request("GET", "/user-config/dotfiles")).body == []


async def test_owner_access_key_and_typo(admin: SignedClient, user: SignedClient) -> None:
    r = await admin.request("POST", "/user-config/dotfiles",
                            json_body={"data": "for user", "path": ".profile", "permission": "644",
                                       "owner_access_key": USER[0]})
    assert r.status == 200, r.body
    r = await admin.request("GET", "/user-config/dotfiles", params={"onwer_access_key": USER[0]})
    assert [d["path"] for d in r.body] == [".profile"]
    assert [d["path"] for d in (await user.request("GET", "/user-config/dotfiles")).body] == [".profile"]
    assert (await admin.request("GET", "/user-config/dotfiles")).body == []
    r = await user.request("GET", "/user-config/dotfiles", params={"owner_access_key": "AKIAIOSFODNN7EXAMPLE"})
    assert r.status == 403


async def test_group_and_domain_dotfiles(admin: SignedClient, user: SignedClient) -> None:
    body = {"data": "export PROJECT=1\n", "path": ".projectrc", "permission": "644"}
    r = await user.request("POST", "/group-config/dotfiles", json_body={**body, "group": "default"})
    assert r.status == 403
    r = await admin.request("POST", "/group-config/dotfiles", json_body={**body, "group": "default",
                                                                         "domain": "default"})
    assert r.status == 200, r.body
    r = await user.request("GET", "/group-config/dotfiles", params={"group": "default", "domain": "default"})
    assert r.status == 200 and [d["path"] for d in r.body] == [".projectrc"]
    r = await admin.request("DELETE", "/group-config/dotfiles", params={"group": "default", "path": ".projectrc"})
    assert r.status == 200
    r = await user.request("GET", "/group-config/dotfiles", params={"group": "nonexistent"})
    assert r.status == 404

    r = await admin.request("POST", "/domain-config/dotfiles", json_body={**body, "domain": "default"})
    assert r.status == 200, r.body
    r = await user.request("GET", "/domain-config/dotfiles", params={"domain": "default", "path": ".projectrc"})
    assert r.body["data"] == "export PROJECT=1\n"
    r = await user.request("PATCH", "/domain-config/dotfiles", json_body={**body, "domain": "default"})
    assert r.status == 403
    r = await admin.request("DELETE", "/domain-config/dotfiles", params={"domain": "default", "path": ".projectrc"})
    assert r.status == 200
    r = await admin.request("GET", "/domain-config/dotfiles", params={"domain": "nope"})
    assert r.status == 404

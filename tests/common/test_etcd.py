import asyncio

from ai.backend.common.etcd import AsyncEtcd, WatchEvent, flatten_dict, nest_pairs


async def test_get_put_delete(etcd: AsyncEtcd) -> None:
    assert await etcd.get("config/redis/addr") is None
    await etcd.put("config/redis/addr", "127.0.0.1:8110")
    assert await etcd.get("config/redis/addr") == "127.0.0.1:8110"
    await etcd.delete("config/redis/addr")
    assert await etcd.get("config/redis/addr") is None


async def test_prefix_get_is_nested_and_scoped(etcd: AsyncEtcd) -> None:
    await etcd.put_dict({
        "config/redis/addr": "127.0.0.1:8110",
        "config/redis/password": "develove",
        "config/docker/registry/cr.backend.ai": "https://cr.backend.ai",
        "config/docker/registry/cr.backend.ai/type": "harbor2",
        "configuration-not-under-config": "x",
    })
    assert await etcd.get_prefix("config/redis") == {"addr": "127.0.0.1:8110", "password": "develove"}
    registry = await etcd.get_prefix("config/docker/registry")
    assert registry == {"cr.backend.ai": {"": "https://cr.backend.ai", "type": "harbor2"}}
    whole = await etcd.get_prefix("config")
    assert set(whole) == {"redis", "docker"}


async def test_namespaces_are_isolated(etcd: AsyncEtcd) -> None:
    other = AsyncEtcd(etcd.addr, namespace=etcd.namespace + "-other")
    try:
        await etcd.put("volumes/default_host", "local:volume1")
        assert await other.get("volumes/default_host") is None
        assert await other.get_prefix("") == {}
    finally:
        await other.delete_prefix("")
        await other.close()


async def test_keys_with_special_characters_round_trip(etcd: AsyncEtcd) -> None:
    await etcd.put("config/docker/registry/localhost:5000/type", "docker")
    await etcd.put("volumes/proxies/my proxy/secret", "s")
    reg = await etcd.get_prefix("config/docker/registry")
    assert reg == {"localhost:5000": {"type": "docker"}}
    assert await etcd.get("volumes/proxies/my proxy/secret") == "s"
    flat = await etcd.get_prefix_flat("config")
    assert flat == {"config/docker/registry/localhost:5000/type": "docker"}


async def test_put_prefix_and_delete_prefix(etcd: AsyncEtcd) -> None:
    await etcd.put_prefix("volumes", {"default_host": "p:v", "proxies": {"p": {"secret": "x", "ssl_verify": "false"}}})
    assert await etcd.get("volumes/proxies/p/ssl_verify") == "false"
    await etcd.put("volumesX", "keep")
    await etcd.delete_prefix("volumes")
    assert await etcd.get_prefix("volumes") == {}
    assert await etcd.get("volumesX") == "keep"


async def test_delete_multi(etcd: AsyncEtcd) -> None:
    await etcd.put_dict({"a": "1", "b": "2", "c": "3"})
    await etcd.delete_multi(["a", "b"])
    assert await etcd.get_prefix("") == {"c": "3"}


async def test_watch_prefix_sees_puts_and_deletes(etcd: AsyncEtcd) -> None:
    seen: list[WatchEvent] = []
    ready = asyncio.Event()

    async def watcher() -> None:
        async for ev in etcd.watch_prefix("config", ready=ready):
            seen.append(ev)
            if len(seen) == 2:
                return

    task = asyncio.create_task(watcher())
    await asyncio.wait_for(ready.wait(), 5)
    await etcd.put("config/redis/addr", "h:1")
    await etcd.delete("config/redis/addr")
    await asyncio.wait_for(task, 5)
    assert seen == [
        WatchEvent("config/redis/addr", "h:1", False),
        WatchEvent("config/redis/addr", None, True),
    ]


def test_flatten_and_nest_are_inverse() -> None:
    nested = {"a": {"": "0", "b": "1", "c": {"d": "2"}}, "e": "3"}
    flat = flatten_dict(nested)
    assert flat == {"a": "0", "a/b": "1", "a/c/d": "2", "e": "3"}
    assert nest_pairs(flat) == nested

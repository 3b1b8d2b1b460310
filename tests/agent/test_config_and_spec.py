"""agent.toml validation and the pure container-definition helpers of the Docker backend."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from ai.backend.agent.config import agent_config_from_dict, load_agent_config
from ai.backend.agent.docker import spec as S
from ai.backend.agent.docker.ports import PortPool, PortPoolExhausted
from ai.backend.agent.exceptions import InvalidArgument
from ai.backend.agent.runner_channel import CONSOLE_LIMIT, _merge_console
from ai.backend.common.config import ConfigError
from ai.backend.common.types import HostPortPair

from .helpers import kernel_config


def test_the_config_samples_load() -> None:
    sample = load_agent_config("configs/agent/sample.toml")
    assert sample["agent"]["mode"] == "docker" and sample["container"]["port-range"] == (30000, 31000)
    assert sample["agent"]["advertised-rpc-addr"] == HostPortPair("127.0.0.1", 6001)
    assert sample["dummy"]["delays"]["create-kernel"] == 0.2
    half = load_agent_config("configs/agent/halfstack.toml")
    assert half["agent"]["rpc-listen-addr"] == HostPortPair("127.0.0.1", 6001)
    assert half["etcd"]["namespace"] == "local" and half["etcd"]["addr"] == HostPortPair("127.0.0.1", 8120)
    assert half["agent"]["scaling-group"] == "default"


def test_config_errors_name_the_keys(tmp_path: Path) -> None:
    bad = tmp_path / "agent.toml"
    bad.write_text('[agent]\nmode = "k8s"\n[container]\nkernel-uid = 0\nport-range = [31000, 30000]\n')
    with pytest.raises(ConfigError) as e:
        load_agent_config(bad)
    assert {"agent.mode", "container.kernel-uid"} <= set(e.value.errors)
    assert any(k.startswith("container.port-range") for k in e.value.errors)
    assert str(bad) in str(e.value)


def test_config_defaults_and_derived_values() -> None:
    cfg = agent_config_from_dict({"agent": {"rpc-listen-addr": "0.0.0.0:0", "allowed-compute-plugins": ["x"]},
                                  "container": {"bind-host": "10.0.0.5"}})
    assert cfg["agent"]["id"].startswith("i-")
    assert cfg["agent"]["allow-compute-plugins"] == ["x"]  # the manual's other spelling
    assert cfg["container"]["advertised-host"] == "10.0.0.5"
    assert cfg["agent"]["advertised-rpc-addr"] == HostPortPair("10.0.0.5", 0)
    assert copy.deepcopy(cfg)["agent"]["rpc-listen-addr"] == HostPortPair("0.0.0.0", 0)


def test_service_port_declarations() -> None:
    ports = S.service_ports_for({"ai.backend.service-ports": "jupyter:http:8080,tensorboard:http:6006"}, [9000])
    assert [(p["name"], p["protocol"], p["container_ports"]) for p in ports] == [
        ("jupyter", "http", [8080]), ("tensorboard", "http", [6006]), ("ttyd", "http", [7681]),
        ("9000", "preopen", [9000]),
    ]
    for label in ("jupyter:http", "x:udp:80", "y:http:2000", "z:http:99999"):
        with pytest.raises(InvalidArgument):
            S.parse_service_ports(label)
    with pytest.raises(InvalidArgument, match="preopen port 8080"):
        S.service_ports_for({"ai.backend.service-ports": "jupyter:http:8080"}, [8080])


def test_cluster_environment_for_each_role() -> None:
    cluster = {"mode": "single-node", "size": 4, "replicas": {"sub": 3, "main": 1}}
    main = kernel_config()
    env = S.cluster_environ(main, cluster)  # type: ignore[arg-type]
    assert env["BACKENDAI_CLUSTER_HOSTS"] == "main1,sub1,sub2,sub3"
    assert env["BACKENDAI_CLUSTER_REPLICAS"] == "main:1,sub:3"
    assert (env["BACKENDAI_CLUSTER_ROLE"], env["BACKENDAI_CLUSTER_IDX"], env["BACKENDAI_CLUSTER_LOCAL_RANK"]) == ("main", "1", "0")
    single = S.cluster_environ(kernel_config(), None)  # type: ignore[arg-type]
    assert single["BACKENDAI_CLUSTER_SIZE"] == "1" and single["BACKENDAI_CLUSTER_HOSTS"] == "main1"


def test_environment_and_labels() -> None:
    kc = kernel_config(environ={"A": "1", "HOME": "/root"})
    env = S.kernel_environ(kc, None, {"ai.backend.envs.corecount": "OMP_NUM_THREADS, NPROC"},  # type: ignore[arg-type]
                           cores=3, uid=1100, gid=1100, plugin_env={"CUDA_VISIBLE_DEVICES": "0"})
    assert env["A"] == "1" and env["HOME"] == "/home/work"  # ours win over the user's
    assert env["OMP_NUM_THREADS"] == env["NPROC"] == "3" and env["CUDA_VISIBLE_DEVICES"] == "0"
    with pytest.raises(InvalidArgument, match="environment variable name"):
        S.kernel_environ(kernel_config(environ={"BAD-NAME": "x"}), None, {}, cores=1, uid=1, gid=1, plugin_env={})  # type: ignore[arg-type]
    kc["environ"] = {"SECRET": "s3cret"}
    labels = S.kernel_labels(kc, agent_id="ag1", resource_spec={"slots": {}}, service_ports=[], network=None)  # type: ignore[arg-type]
    assert labels[S.LABEL_AGENT_ID] == "ag1" and labels[S.LABEL_KERNEL_ID] == kc["kernel_id"]
    assert "s3cret" not in labels[S.LABEL_KERNEL_CONFIG]


def test_mount_validation(tmp_path: Path) -> None:
    ok = S.validate_mounts([{"host_path": str(tmp_path), "kernel_path": "/home/work/data", "permission": "rw"}])
    assert ok == [{"Type": "bind", "Source": str(tmp_path), "Target": "/home/work/data", "ReadOnly": False}]
    for bad in (
        {"host_path": "relative", "kernel_path": "/home/work/x", "permission": "ro"},
        {"host_path": str(tmp_path), "kernel_path": "/home/work/../etc", "permission": "ro"},
        {"host_path": str(tmp_path), "kernel_path": "/opt/backend.ai/lib", "permission": "ro"},
        {"host_path": str(tmp_path / "missing"), "kernel_path": "/home/work/x", "permission": "ro"},
        {"host_path": str(tmp_path), "kernel_path": "/home/work/x", "permission": "rwx"},
    ):
        with pytest.raises(InvalidArgument):
            S.validate_mounts([bad])


def test_port_pool() -> None:
    pool = PortPool((31000, 31003))
    got = pool.acquire(3)
    assert len(set(got)) == 3 and all(p is not None and 31000 <= p <= 31003 for p in got)
    with pytest.raises(PortPoolExhausted):
        pool.acquire(2)
    pool.release(got[:2])
    pool.quarantine([got[0]])
    assert pool.free_count == 2
    pool.mark_used([31000, 31001, 31002, 31003])
    assert pool.free_count == 0
    assert PortPool("auto").acquire(2) == [None, None]


def test_console_items_are_merged_and_capped() -> None:
    items = [("stdout", "a"), ("stdout", "b"), ("stderr", "c"), ("media", ["image/png", "x"]), ("stdout", "d")]
    assert _merge_console(items) == [["stdout", "ab"], ["stderr", "c"], ["media", ["image/png", "x"]], ["stdout", "d"]]
    big = _merge_console([("stdout", "x" * CONSOLE_LIMIT), ("stdout", "y" * 10), ("stderr", "z")])
    assert big == [["stdout", "x" * CONSOLE_LIMIT], ["stderr", "z"]]

"""A stored template becomes a session-creation body; request fields override it."""

from __future__ import annotations

from ai.backend.manager.services.session_template_start import merge_overrides, template_to_body
from ai.backend.manager.services.session_templates import parse_payload

TEMPLATE = """
api_version: v1
kind: taskTemplate
metadata: {name: t1, tag: example-tag}
spec:
  sessionType: batch
  scalingGroup: gpu
  kernel:
    image: python:3.11
    environ: {A: "1"}
    run: {bootstrap: "echo boot", startupCommand: "python main.py"}
    git: {repository: "https://example.com/r.git", branch: dev, commit: abc123, destinationDir: /home/work/src}
  mounts: {data: /home/work/data, models: null}
  resources: {cpu: "2", mem: 4g}
"""


def test_template_to_body() -> None:
    [tpl] = parse_payload(TEMPLATE)
    body = template_to_body(tpl)
    assert body["image"] == "python:3.11" and body["type"] == "batch" and body["tag"] == "example-tag"
    assert body["startupCommand"] == "python main.py"
    assert body["bootstrap_script"] == ("echo boot\ngit clone -b dev https://example.com/r.git /home/work/src"
                                        " && git -C /home/work/src checkout abc123")
    assert body["config"] == {"environ": {"A": "1"}, "resources": {"cpu": "2", "mem": "4g"}, "scalingGroup": "gpu",
                              "mounts": ["data", "models"], "mount_map": {"data": "/home/work/data"}}


def test_overrides_win_and_none_means_not_given() -> None:
    [tpl] = parse_payload(TEMPLATE)
    merged = merge_overrides(template_to_body(tpl), {
        "template_id": "x", "name": "mine", "type": None, "image": None,
        "config": {"environ": {"B": "2"}, "resources": None, "mounts": []}})
    assert merged["name"] == "mine" and merged["type"] == "batch" and merged["image"] == "python:3.11"
    assert "template_id" not in merged
    assert merged["config"]["environ"] == {"B": "2"}
    assert merged["config"]["resources"] == {"cpu": "2", "mem": "4g"}
    assert merged["config"]["mounts"] == ["data", "models"]

"""The console/JSON output helpers and parameter types (no server needed)."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from ai.backend.client.cli.output import Field, humanize, print_list, show, show_size, show_slots
from ai.backend.client.cli.params import parse_size
from ai.backend.client.cli.pretty import format_error
from manager.helpers import parse_table


def test_headers_are_humanized_like_the_official_cli() -> None:
    assert humanize("is_active") == "Active?"
    assert humanize("resource_policy") == "Res.Policy"
    assert humanize("total_resource_slots") == "Total Resource Slots"
    assert Field("user_info { full_name }", "Full Name").name == "user_info"


def test_values() -> None:
    assert show(None) == "(null)" and show([]) == "(empty)" and show({}) == "(empty)"
    assert show(["a", "b"]) == "[a, b]" and show(True) == "True"
    assert show_slots('{"cpu": "1", "mem": "1073741824"}') == "cpu:1, mem:1073741824"
    assert show_size(512) == "512B" and show_size(3 * 2**30) == "3.0G"


def _cmd(items: list[dict[str, object]]) -> click.Command:
    fields = [Field("name"), Field("is_active"), Field("groups { id name }", alt="groups")]

    @click.command()
    @click.option("--output", default="console")
    @click.pass_context
    def cmd(ctx: click.Context, output: str) -> None:
        ctx.meta["client.output"] = output
        print_list(items, fields)

    return cmd


def test_table_and_json_output() -> None:
    items: list[dict[str, object]] = [{"name": "a", "is_active": True, "groups": [{"id": "1", "name": "g"}]}]
    out = CliRunner().invoke(_cmd(items), []).output
    assert parse_table(out) == [{"Name": "a", "Active?": "True", "Groups": "[{id: 1, name: g}]"}]
    data = json.loads(CliRunner().invoke(_cmd(items), ["--output", "json"]).output)
    assert data == {"count": 1, "total_count": 1,
                    "items": [{"name": "a", "is_active": True, "groups": [{"id": "1", "name": "g"}]}]}
    assert CliRunner().invoke(_cmd([]), []).output == "No matching items.\n"


def test_sizes() -> None:
    assert parse_size("16m") == 16 * 2**20 and parse_size("1.5g") == int(1.5 * 2**30)
    assert parse_size("512") == 512 and parse_size("64KiB") == 64 * 2**10
    with pytest.raises(ValueError):
        parse_size("lots")


class FakeAPIError(Exception):
    def __init__(self, status: int, data: object) -> None:
        super().__init__(status, "Not Found", data)
        self.status, self.reason, self.data = status, "Not Found", data


def test_errors_are_one_line() -> None:
    e = FakeAPIError(404, {"type": "https://api.backend.ai/probs/vfolder-not-found",
                           "title": "Virtual folder not found", "msg": "no such\nfolder: x"})
    assert format_error(e) == "Virtual folder not found: no such folder: x (HTTP 404)"
    gql = FakeAPIError(400, {"title": "GraphQL error", "data": [{"message": "bad field"}]})
    assert format_error(gql) == "GraphQL error: bad field (HTTP 400)"
    assert format_error(ValueError("bad")) == "ValueError: bad"

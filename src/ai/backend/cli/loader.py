"""A click group whose subcommands are imported only when used.

Server tools (mgr, ag, storage) pull in heavy dependencies; `backend.ai config` should not.
A component that is not installed (or fails to import) is left out of the listing and
reported clearly when asked for.
"""

from __future__ import annotations

import importlib
from typing import Any

import click


class LazyGroup(click.Group):
    def __init__(self, *args: Any, lazy_subcommands: dict[str, str] | None = None,
                 merged_groups: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_subcommands = lazy_subcommands or {}   # name -> "module:attr"
        self.merged_groups = merged_groups or []         # "module:attr" groups whose commands join the root

    def _load(self, spec: str) -> click.Command | None:
        module_name, _, attr = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name and module_name.startswith(e.name):
                return None  # the component is not part of this installation
            raise
        cmd = getattr(module, attr)
        return cmd if isinstance(cmd, click.Command) else None

    def _merged_commands(self) -> dict[str, click.Command]:
        cmds: dict[str, click.Command] = {}
        for spec in self.merged_groups:
            group = self._load(spec)
            if isinstance(group, click.Group):
                for name in group.list_commands(click.Context(group)):
                    sub = group.get_command(click.Context(group), name)
                    if sub is not None:
                        cmds[name] = sub
        return cmds

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx))
        names.update(n for n, spec in self.lazy_subcommands.items() if self._load(spec) is not None)
        names.update(self._merged_commands())
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        cmd = super().get_command(ctx, cmd_name)
        if cmd is not None:
            return cmd
        if cmd_name in self.lazy_subcommands:
            return self._load(self.lazy_subcommands[cmd_name])
        return self._merged_commands().get(cmd_name)

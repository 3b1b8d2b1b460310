"""The client command group; its commands are mounted at the top of `backend.ai`
(next to `mgr`, `ag`, `storage`), named as the official client 23.9 names them."""

from __future__ import annotations

import click

from .admin import admin
from .admin.sessions import make_info_cmd, make_list_cmd
from .config_cmd import config, login, logout
from .dotfile import dotfile
from .session.lifecycle import TOP_LEVEL, session
from .session.run import run
from .sesstpl import session_template
from .vfolder import vfolder


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Backend.AI client commands."""


for _cmd in (config, login, logout, admin, vfolder, dotfile, session, run, *TOP_LEVEL):
    main.add_command(_cmd)
main.add_command(session_template)
main.add_command(session_template, "sesstpl")
main.add_command(make_list_cmd("ps", 'List compute sessions (alias of "session list").'))
main.add_command(make_info_cmd('Show a compute session (alias of "session info").'))

"""`backend.ai vfolder ...`: virtual folders and the files in them."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from tabulate import tabulate

from .admin.gql import fetch_pages
from .context import ExitCode, client_session
from .output import Field, is_json, print_json, print_list
from .params import ByteSize
from .pretty import print_done, print_fail, print_info

LIST_FIELDS = [Field("host"), Field("name"), Field("created_at"), Field("creator"),
               Field("group", alt="group_id", header="Group ID"), Field("permission"),
               Field("ownership_type"), Field("status")]
PERMISSIONS = ("rw", "ro", "wd")


@click.group()
def vfolder() -> None:
    """Set of vfolder operations."""


@vfolder.command("list")
@click.option("-g", "--group", default=None, help="Filter by project ID.")
@click.option("--filter", "filter_", default=None, help="Set the query filter expression.")
@click.option("--order", default=None, help="Set the query ordering expression.")
@click.option("--offset", default=0, type=int, help="The index of the first item to show.")
@click.option("--limit", default=None, type=int, help="Show at most this many items.")
def list_(group: str | None, filter_: str | None, order: str | None, offset: int,
          limit: int | None) -> None:
    """List the virtual folders you can access."""
    with client_session() as s:
        items, total = fetch_pages(s, "vfolder_list", LIST_FIELDS, {
            "group_id": (group, "UUID"), "filter": (filter_, "String"), "order": (order, "String")},
            offset=offset, limit=limit)
        print_list(items, LIST_FIELDS, total=total)


@vfolder.command("list-hosts")
def list_hosts() -> None:
    """List the storage hosts you may create virtual folders on."""
    with client_session() as s:
        resp = s.VFolder.list_hosts()
        if is_json():
            print_json(resp)
            return
        click.echo(f"Default vfolder host: {resp['default']}")
        click.echo(f"Usable hosts: {', '.join(resp['allowed'])}")


@vfolder.command("list-allowed-types")
def list_allowed_types() -> None:
    """List the allowed vfolder types (user, group)."""
    with client_session() as s:
        click.echo(s.VFolder.list_allowed_types())


@vfolder.command()
@click.argument("name")
@click.argument("host", required=False, default=None)
@click.option("-g", "--group", default=None, help="Project ID or name (makes a project folder).")
@click.option("--unmanaged", "host_path", is_flag=True, help="HOST is an unmanaged path (admins).")
@click.option("-m", "--usage-mode", default="general", type=click.Choice(["general", "data", "model"]),
              help="Purpose of the folder.")
@click.option("-p", "--permission", default="rw", type=click.Choice(PERMISSIONS), help="Innate permission.")
@click.option("-q", "--quota", default="0", type=ByteSize(), help="Quota (e.g. 10g); 0 = unlimited.")
@click.option("--cloneable", "--allow-clone", is_flag=True, help="Allow others to clone it.")
def create(name: str, host: str | None, group: str | None, host_path: bool, usage_mode: str,
           permission: str, quota: int, cloneable: bool) -> None:
    """Create a virtual folder NAME on HOST (default: the server's default host)."""
    with client_session() as s:
        kwargs: dict[str, Any] = {"group": group, "usage_mode": usage_mode, "permission": permission,
                                      "quota": quota, "cloneable": cloneable}
        if host_path:
            result = s.VFolder.create(name=name, unmanaged_path=host, **kwargs)
        else:
            result = s.VFolder.create(name=name, host=host, **kwargs)
        click.echo(f'Virtual folder "{result["name"]}" is created.')


@vfolder.command()
@click.argument("name")
def delete(name: str) -> None:
    """Delete a virtual folder (irreversible)."""
    with client_session() as s:
        s.VFolder(name).delete()
        print_done("Deleted.")


@vfolder.command()
@click.argument("old_name")
@click.argument("new_name")
def rename(old_name: str, new_name: str) -> None:
    """Rename a virtual folder you own."""
    with client_session() as s:
        s.VFolder(old_name).rename(new_name)
        print_done("Renamed.")


@vfolder.command()
@click.argument("name")
def info(name: str) -> None:
    """Show a virtual folder."""
    with client_session() as s:
        r = s.VFolder(name).info()
        if is_json():
            print_json(r)
            return
        click.echo(f'Virtual folder "{r["name"]}" (ID: {r["id"]})')
        for label, key in (("Owner", "is_owner"), ("Permission", "permission"), ("Status", "status"),
                           ("Number of files", "numFiles"), ("Ownership Type", "type"),
                           ("Usage Mode", "usage_mode"), ("Group ID", "group"), ("User ID", "user"),
                           ("Clone Allowed", "cloneable")):
            click.echo(f"- {label}: {r.get(key, '')}")


@vfolder.command()
@click.argument("name")
@click.argument("filenames", type=Path, nargs=-1, required=True)
@click.option("-b", "--base-dir", type=Path, default=None,
              help="Local directory the uploaded names are relative to (default: the working directory).")
@click.option("-r", "--recursive", is_flag=True, help="Upload directories recursively.")
@click.option("--chunk-size", type=ByteSize(), default="16m", help="Transfer chunk size (e.g. 16m).")
def upload(name: str, filenames: tuple[Path, ...], base_dir: Path | None, recursive: bool,
           chunk_size: int) -> None:
    """Upload local files into the virtual folder (same names are overwritten)."""
    for p in filenames:   # relative to the working directory; --base-dir sets the remote names
        if not p.exists():
            print_fail(f"No such file: {p}")
            sys.exit(ExitCode.INVALID_ARGUMENT)
        if p.is_dir() and not recursive:
            print_fail(f"{p} is a directory (use -r to upload it recursively)")
            sys.exit(ExitCode.INVALID_ARGUMENT)
    with client_session() as s:
        s.VFolder(name).upload(list(filenames), basedir=base_dir, recursive=recursive,
                               chunk_size=chunk_size, show_progress=True)
        print_done("Done.")


@vfolder.command()
@click.argument("name")
@click.argument("filenames", type=Path, nargs=-1, required=True)
@click.option("-b", "--base-dir", type=Path, default=None, help="Local directory to save into.")
@click.option("--chunk-size", type=ByteSize(), default="16m", help="Transfer chunk size (e.g. 16m).")
@click.option("--max-retries", type=int, default=20, help="Retries (resuming with Range) on failures.")
def download(name: str, filenames: tuple[Path, ...], base_dir: Path | None, chunk_size: int,
             max_retries: int) -> None:
    """Download files from the virtual folder (same local names are overwritten)."""
    with client_session() as s:
        s.VFolder(name).download(list(filenames), basedir=base_dir, chunk_size=chunk_size,
                                 show_progress=True, max_retries=max_retries)
        print_done("Done.")


@vfolder.command()
@click.argument("name")
@click.argument("path", default=".")
def ls(name: str, path: str) -> None:
    """List files in a path of the virtual folder."""
    with client_session() as s:
        result = s.VFolder(name).list_files(path)
        files = result["files"]
        if isinstance(files, str):
            files = json.loads(files)
        if is_json():
            print_json(files)
            return
        rows = [[f["filename"], f["size"], datetime.fromtimestamp(float(f["mtime"])).strftime("%b %d %Y %H:%M:%S"),
                 f["mode"]] for f in files]
        click.echo(tabulate(rows, headers=["file name", "size", "modified", "mode"]))


@vfolder.command()
@click.argument("name")
@click.argument("path")
@click.option("-p", "--parents", is_flag=True, help="Create missing parent directories.")
@click.option("-e", "--exist-ok", is_flag=True, help="No error if the directory exists.")
def mkdir(name: str, path: str, parents: bool, exist_ok: bool) -> None:
    """Create a directory in the virtual folder."""
    with client_session() as s:
        s.VFolder(name).mkdir(path, parents=parents, exist_ok=exist_ok)
        print_done("Done.")


@vfolder.command("rename-file")
@click.argument("name")
@click.argument("target_path")
@click.argument("new_name")
def rename_file(name: str, target_path: str, new_name: str) -> None:
    """Rename a file or directory in the virtual folder."""
    with client_session() as s:
        s.VFolder(name).rename_file(target_path, new_name)
        print_done("Renamed.")


@vfolder.command()
@click.argument("name")
@click.argument("src")
@click.argument("dst")
def mv(name: str, src: str, dst: str) -> None:
    """Move a file or directory within the virtual folder."""
    with client_session() as s:
        s.VFolder(name).move_file(src, dst)
        print_done("Moved.")


@vfolder.command()
@click.argument("name")
@click.argument("filenames", nargs=-1, required=True)
@click.option("-r", "--recursive", is_flag=True, help="Delete directories with their contents.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
def rm(name: str, filenames: tuple[str, ...], recursive: bool, yes: bool) -> None:
    """Delete files in the virtual folder (irreversible)."""
    if not yes and sys.stdin.isatty() and not click.confirm("Delete them?", default=False):
        print_info("Cancelled.")
        sys.exit(ExitCode.FAILURE)
    with client_session() as s:
        s.VFolder(name).delete_files(list(filenames), recursive=recursive)
        print_done("Done.")


vfolder.add_command(rm, "delete-file")


@vfolder.command()
@click.argument("name")
@click.argument("emails", nargs=-1, required=True)
@click.option("-p", "--perm", "--permission", "perm", default="rw", type=click.Choice(PERMISSIONS))
def invite(name: str, emails: tuple[str, ...], perm: str) -> None:
    """Invite users to a virtual folder you own."""
    with client_session() as s:
        invited = s.VFolder(name).invite(perm, list(emails)).get("invited_ids", [])
        if not invited:
            click.echo("No users found. Invitation was not sent.")
            return
        click.echo("Invitation sent to:")
        for who in invited:
            click.echo(f"\t- {who}")


@vfolder.command()
@click.option("-a", "--accept", "accept_id", default=None, help="Accept this invitation ID.")
@click.option("-r", "--reject", "reject_id", default=None, help="Reject this invitation ID.")
def invitations(accept_id: str | None, reject_id: str | None) -> None:
    """List the invitations you received; accept or reject one by ID."""
    with client_session() as s:
        if accept_id:
            s.VFolder.accept_invitation(accept_id)
            print_done(f"Accepted invitation {accept_id}.")
            return
        if reject_id:
            s.VFolder.delete_invitation(reject_id)
            print_done(f"Rejected invitation {reject_id}.")
            return
        invs = s.VFolder.invitations().get("invitations", [])
        if is_json():
            print_json(invs)
            return
        if not invs:
            click.echo("No invitations.")
            return
        names = {"rw": "read-write", "ro": "read-only", "wd": "read-write-delete"}
        click.echo(tabulate([[i["id"], i["inviter"], i.get("vfolder_name", ""), i["vfolder_id"],
                              names.get(i["perm"], i["perm"])] for i in invs],
                            headers=["ID", "Inviter", "VFolder", "VFolder ID", "Permission"]))


@vfolder.command()
@click.argument("name")
@click.argument("emails", nargs=-1, required=True)
@click.option("-p", "--perm", "--permission", "perm", default="rw", type=click.Choice(PERMISSIONS))
def share(name: str, emails: tuple[str, ...], perm: str) -> None:
    """Share a project folder with users, overriding their permission."""
    with client_session() as s:
        shared = s.VFolder(name).share(perm, list(emails)).get("shared_emails", [])
        if not shared:
            click.echo("No users found. Folder is not shared.")
            return
        click.echo(f"Shared with {perm} permission to:")
        for who in shared:
            click.echo(f"\t- {who}")


@vfolder.command()
@click.argument("name")
@click.argument("emails", nargs=-1, required=True)
def unshare(name: str, emails: tuple[str, ...]) -> None:
    """Stop sharing a project folder with users."""
    with client_session() as s:
        unshared = s.VFolder(name).unshare(list(emails)).get("unshared_emails", [])
        if not unshared:
            click.echo("No users found. Folder is not unshared.")
            return
        click.echo("Unshared from:")
        for who in unshared:
            click.echo(f"\t- {who}")


@vfolder.command()
@click.argument("name")
@click.argument("target_name")
@click.argument("target_host", required=False, default=None)
@click.option("-m", "--usage-mode", default="general", type=click.Choice(["general", "data", "model"]))
@click.option("-p", "--permission", default="rw", type=click.Choice(PERMISSIONS))
def clone(name: str, target_name: str, target_host: str | None, usage_mode: str, permission: str) -> None:
    """Clone a cloneable virtual folder into a new one."""
    with client_session() as s:
        if not s.VFolder(name).info().get("cloneable"):
            print_fail(f'Virtual folder "{name}" is not cloneable.')
            sys.exit(ExitCode.FAILURE)
        s.VFolder(name).clone(target_name, target_host=target_host, usage_mode=usage_mode,
                              permission=permission)
        print_done(f'Cloned "{name}" into "{target_name}".')

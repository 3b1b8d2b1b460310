"""`mgr image`: register images from registries / the local Docker daemon, and aliases."""

from __future__ import annotations

import click
from tabulate import tabulate

from ..config import SharedConfig
from ..services import image_scan
from ..services import images as image_service
from .context import CLIContext, pass_ctx, run


@click.group()
def image() -> None:
    """Kernel image management."""


@image.command()
@click.argument("registry", required=False)
@click.option("--docker-url", default=None, help="The Docker daemon to scan (default: the local socket).")
@pass_ctx
def rescan(cli: CLIContext, registry: str | None, docker_url: str | None) -> None:
    """Register kernel images from REGISTRY (a name under config/docker/registry, or "local"
    for the local Docker daemon); without REGISTRY, from the local daemon and every registry."""
    async def _go() -> image_scan.RescanReport:
        async with cli.db() as engine, cli.etcd() as etcd:
            return await image_scan.rescan(
                engine, SharedConfig(etcd), registry, docker_url=docker_url,
                ssl_verify=cli.local_config["docker-registry"]["ssl-verify"],
                progress=lambda msg: click.echo(msg, err=True))

    report = run(_go())
    click.echo(report.summary())
    for source, err in report.errors.items():
        click.echo(f"warning: {source}: {err}", err=True)


@image.command("list")
@pass_ctx
def list_images(cli: CLIContext) -> None:
    """List registered images with their aliases."""
    async def _go() -> list[list[str]]:
        async with cli.db() as engine, engine.connect() as conn:
            rows = (await conn.execute(image_service.select_images())).all()
            aliases = await image_service.aliases_of(conn, [r.id for r in rows])
        return [[r.name, r.architecture, r.config_digest[:19], str(r.size_bytes), ", ".join(aliases[r.id])]
                for r in rows]

    click.echo(tabulate(run(_go()), headers=["name", "architecture", "digest", "size_bytes", "aliases"]))


@image.command()
@click.argument("alias")
@click.argument("target")
@click.argument("architecture", required=False)
@pass_ctx
def alias(cli: CLIContext, alias: str, target: str, architecture: str | None) -> None:
    """Make ALIAS name the image TARGET (optionally of ARCHITECTURE)."""
    async def _go() -> None:
        async with cli.db() as engine, engine.begin() as conn:
            await image_service.alias(conn, alias, target, architecture)

    run(_go())
    click.echo(f"alias {alias} -> {target}")


@image.command()
@click.argument("alias")
@pass_ctx
def dealias(cli: CLIContext, alias: str) -> None:
    """Remove an alias."""
    async def _go() -> None:
        async with cli.db() as engine, engine.begin() as conn:
            await image_service.dealias(conn, alias)

    run(_go())


@image.command()
@click.argument("reference")
@click.argument("architecture", required=False)
@pass_ctx
def forget(cli: CLIContext, reference: str, architecture: str | None) -> None:
    """Unregister an image (its aliases go with it)."""
    async def _go() -> None:
        async with cli.db() as engine, engine.begin() as conn:
            await image_service.forget(conn, reference, architecture)

    run(_go())


"""`config` (show the effective client configuration and the server's versions),
`login` / `logout` (session endpoint mode)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .context import ExitCode, client_session
from .pretty import print_done, print_fail, print_warn


def _client_version() -> str:
    try:
        from ai.backend.client import __version__
        return str(__version__)
    except ImportError:
        path = Path(__file__).resolve().parents[5] / "VERSION"
        return path.read_text().strip() if path.exists() else "unknown"


def _mask(secret: str) -> str:
    return secret[:6] + "*" * 24 + secret[-10:] if len(secret) > 16 else "*" * len(secret)


@click.command()
def config() -> None:
    """Show the current configuration and the server's versions."""
    from ai.backend.client.config import get_config, local_state_path

    cfg = get_config()
    click.echo(f"API endpoint: {cfg.endpoint} (mode: {cfg.endpoint_type})")
    click.echo(f"Client version: {_client_version()} (API: {cfg.version})")
    with client_session() as s:
        try:
            versions = s.System.get_versions()
            click.echo(f"Server version: {versions.get('manager', 'unknown')} (API: {versions['version']})")
        except Exception:
            click.echo("Server version: (failed to fetch)")
        ver = s.api_version
        click.echo(f"Negotiated API version: v{ver[0]}.{ver[1]}")
    if cfg.domain:
        click.echo(f'Domain name: "{cfg.domain}"')
    if cfg.group:
        click.echo(f'Group name: "{cfg.group}"')
    if cfg.endpoint_type == "session":
        state = local_state_path() / "config.json"
        if state.exists():
            click.echo(f'Username: "{json.loads(state.read_text()).get("username", "")}"')
    elif not cfg.access_key:
        click.echo("Access key: (this is an anonymous session)")
    else:
        click.echo(f'Access key: "{cfg.access_key}"')
        click.echo(f'Secret key: "{_mask(cfg.secret_key or "")}"')
    click.echo(f"Signature hash type: {cfg.hash_type}")
    click.echo(f"Skip SSL certificate validation? {cfg.skip_sslcert_validation}")


def _require_session_mode(what: str) -> None:
    from ai.backend.client.config import get_config

    if get_config().endpoint_type != "session":
        print_warn(f'To use {what}, your endpoint type must be "session".')
        sys.exit(ExitCode.INVALID_ARGUMENT)


@click.command()
def login() -> None:
    """Log in to the web-session endpoint (BACKEND_ENDPOINT_TYPE=session); keeps the cookie."""
    _require_session_mode("login")
    user_id = click.prompt("User ID")
    password = click.prompt("Password", hide_input=True)
    with client_session() as s:
        result = s.Auth.login(user_id, password)
        if not result.get("authenticated") and result.get("data", {}).get("details") == "OTP not provided":
            otp = click.prompt("One-time Password")
            result = s.Auth.login(user_id, password, otp=otp.strip())
        if not result.get("authenticated"):
            details = (result.get("data") or {}).get("details") or "invalid credentials"
            print_fail(f"Login failed: {details}")
            sys.exit(ExitCode.FAILURE)
        print_done("Login succeeded.")


@click.command()
def logout() -> None:
    """Log out from the web-session endpoint and forget the stored cookie."""
    _require_session_mode("logout")
    with client_session() as s:
        s.Auth.logout()
        print_done("Logout done.")

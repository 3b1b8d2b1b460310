import click
from click.testing import CliRunner

from ai.backend.cli.loader import LazyGroup


@click.group()
def client_group() -> None:
    """client commands"""


@client_group.command()
def config() -> None:
    click.echo("client config")


@click.command()
def mgr_main() -> None:
    click.echo("manager tools")


def _root() -> click.Group:
    @click.group(
        cls=LazyGroup,
        lazy_subcommands={"mgr": f"{__name__}:mgr_main", "ag": "ai.backend.not_installed_component:main"},
        merged_groups=[f"{__name__}:client_group"],
    )
    def root() -> None:
        pass

    return root


def test_lazy_and_merged_commands_are_listed_and_run() -> None:
    runner = CliRunner()
    result = runner.invoke(_root(), ["--help"])
    assert result.exit_code == 0
    assert "mgr" in result.output and "config" in result.output
    assert " ag " not in result.output  # missing components are not listed
    assert runner.invoke(_root(), ["mgr"]).output == "manager tools\n"
    assert runner.invoke(_root(), ["config"]).output == "client config\n"


def test_missing_component_is_a_clear_error() -> None:
    result = CliRunner().invoke(_root(), ["ag"])
    assert result.exit_code == 2
    assert "No such command 'ag'" in result.output

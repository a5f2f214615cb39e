"""The CLI skeleton keeps the contract: every command listed, nothing fakes success."""

from __future__ import annotations

import pytest

from tests.conftest import run_infergate

CONTRACT = ["init", "synth", "validate", "lint", "check", "rules", "explain", "flows", "smoke", "bench",
            "crds", "schemas"]


def test_readme_command_table_lists_every_command() -> None:
    """The README's "Command line" table is the contract users read: every command is in it."""
    from tests.conftest import REPO

    table = (REPO / "README.md").read_text(encoding="utf-8").split("### Command line", 1)[1].split("\n\n")[1]
    for command in CONTRACT:
        assert f"`infergate {command}" in table, command


def test_help_lists_every_command_of_the_contract() -> None:
    result = run_infergate("--help")
    assert result.returncode == 0
    listed = [line.split()[0] for line in result.stdout.split("Commands:")[1].splitlines() if line.strip()]
    for command in CONTRACT:
        assert command in listed


@pytest.mark.parametrize("args", [["no-such-command"], ["lint", "--fail-on", "fatal", "x"]])
def test_usage_errors_exit_2(args: list[str]) -> None:
    result = run_infergate(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr

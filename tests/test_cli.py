"""The CLI skeleton keeps the contract: every command listed, nothing fakes success."""

from __future__ import annotations

import pytest

from tests.conftest import run_infergate

CONTRACT = ["synth", "validate", "lint", "check", "rules", "explain", "crds", "schemas"]


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

"""The `infergate lint` command: options -> config -> engine -> reporter -> exit code."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from infergate.core.findings import Severity, exit_code
from infergate.core.reporters import RENDERERS
from infergate.lint.config import LintConfig, discover_config, load_config
from infergate.lint.engine import lint_paths
from infergate.project.discovery import find_project


def _codes(value: str | None) -> tuple[str, ...]:
    return tuple(c.strip().upper() for c in (value or "").split(",") if c.strip())


def run_lint(
    paths: Sequence[Path],
    *,
    config_file: Path | None,
    select: str | None,
    ignore: str | None,
    fail_on: str | None,
    fmt: str,
    strict_images: bool = False,
    istio_version: str | None = None,
    provided_secrets: Sequence[str] = (),
) -> tuple[str, int]:
    """Lint ``paths``; returns (rendered output, exit code)."""
    # the settings of the project holding the (first) linted path; paths outside any project take the
    # settings found from the working directory
    start = Path(paths[0]) if paths and find_project(Path(paths[0])) is not None else None
    config: LintConfig = load_config(config_file) if config_file else discover_config(start)
    flags = {
        "strict_images": True if strict_images else None,
        "istio_version": istio_version,
        "provided_secrets": list(provided_secrets) or None,
    }
    overrides = {k: v for k, v in flags.items() if v is not None}
    findings, summary = lint_paths(
        paths, config=config, select=_codes(select), ignore=_codes(ignore), overrides=overrides or None
    )
    threshold = Severity(fail_on) if fail_on else config.fail_on
    if fmt == "sarif":
        from infergate.policies import all_rules

        output = RENDERERS["sarif"](findings, summary, rules=[r.meta() for r in all_rules()])
    else:
        output = RENDERERS[fmt](findings, summary)
    return output, exit_code(findings, threshold, input_error=summary.get("input_errors", 0) > 0)

"""The `infergate lint` command: options -> config -> engine -> reporter -> exit code."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from infergate.core.errors import InfergateError
from infergate.core.findings import Severity, exit_code
from infergate.core.reporters import RENDERERS
from infergate.core.world import ProvidedError, provided_entries
from infergate.lint.config import LintConfig, discover_config, load_config
from infergate.lint.engine import lint_paths
from infergate.project.discovery import find_project

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def _codes(value: str | None) -> tuple[str, ...]:
    return tuple(c.strip().upper() for c in (value or "").split(",") if c.strip())


def _provided(specs: Sequence[str]) -> frozenset[tuple[str, str, str]]:
    try:
        return provided_entries(specs)
    except ProvidedError as exc:
        raise InfergateError(f"--provided {exc}") from None


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
    provided: Sequence[str] = (),
    closed_world: bool | None = None,
    namespace: str | None = None,
    scope: str = "cluster",
    jobs: int = 1,
) -> tuple[str, int]:
    """Lint ``paths``; returns (rendered output, exit code)."""
    # the settings of the project holding the (first) linted path; paths outside any project take the
    # settings found from the working directory
    if namespace is not None and not _DNS_LABEL.match(namespace):
        raise InfergateError(f"--namespace {namespace!r} is not a namespace name")
    start = Path(paths[0]) if paths and find_project(Path(paths[0])) is not None else None
    config: LintConfig = load_config(config_file) if config_file else discover_config(start)
    flags = {
        "strict_images": True if strict_images else None,
        "istio_version": istio_version,
        "provided_secrets": list(provided_secrets) or None,
        "provided": _provided(provided) or None,
        "closed_world": closed_world,
        "namespace": namespace,
    }
    overrides = {k: v for k, v in flags.items() if v is not None}
    findings, summary = lint_paths(
        paths,
        config=config,
        select=_codes(select),
        ignore=_codes(ignore),
        overrides=overrides or None,
        scope=scope,
        jobs=jobs,
    )
    threshold = Severity(fail_on) if fail_on else config.fail_on
    if fmt == "sarif":
        from infergate.policies import all_rules

        output = RENDERERS["sarif"](findings, summary, rules=[r.meta() for r in all_rules()])
    else:
        output = RENDERERS[fmt](findings, summary)
    return output, exit_code(findings, threshold, input_error=summary.get("input_errors", 0) > 0)

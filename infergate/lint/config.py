"""Lint configuration: ``[lint]`` in infergate.toml (``[tool.infergate.lint]`` in pyproject.toml), or
``[lint]`` in ``.infergate.toml`` in a repository that is not an infergate project.

    [tool.infergate.lint]
    select = ["GW", "INF", "SEC601"]      # codes or prefixes (default: every rule)
    ignore = ["SEC604"]
    exclude = ["dist/legacy/**"]          # glob patterns matched against file paths
    fail-on = "warning"
    strict-images = true                  # SEC604 also wants a digest
    [tool.infergate.lint.severity]
    SEC602 = "error"
    [tool.infergate.lint.platform]        # facts for paths that are not dist/<env>
    provided-secrets = ["llm-d-inference-scheduling/hf-token"]
    istio-version = "v1.26.6"

Unknown keys are errors (a typo must not silently disable a rule).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infergate.core.errors import ConfigError
from infergate.core.findings import Severity
from infergate.lint.platform import Platform, platform_from
from infergate.netpol.cluster import fact_problem
from infergate.project.discovery import read_toml

_KEYS = {"select", "ignore", "exclude", "fail-on", "strict-images", "severity", "platform"}


@dataclass(frozen=True, slots=True)
class LintConfig:
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    fail_on: Severity = Severity.ERROR
    severity: dict[str, Severity] = field(default_factory=dict)
    platform: Platform = field(default_factory=Platform)
    file: str | None = None


def _codes(value: Any, key: str, file: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"lint.{key} must be a list of rule codes or prefixes", file=file)
    return tuple(v.strip().upper() for v in value if v.strip())


def _severity(value: Any, where: str, file: str) -> Severity:
    try:
        return Severity(str(value).lower())
    except ValueError:
        raise ConfigError(f"{where}: {value!r} is not one of error, warning, info", file=file) from None


def config_from_table(table: dict[str, Any], file: str) -> LintConfig:
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(
            f"unknown lint setting {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})", file=file
        )
    severity = table.get("severity", {})
    if not isinstance(severity, dict):
        raise ConfigError('lint.severity must be a table of CODE = "error|warning|info"', file=file)
    exclude = table.get("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(v, str) for v in exclude):
        raise ConfigError("lint.exclude must be a list of glob patterns", file=file)
    platform_table = table.get("platform", {})
    if not isinstance(platform_table, dict):
        raise ConfigError("lint.platform must be a table", file=file)
    for key, value in platform_table.items():
        problem = fact_problem(str(key).replace("-", "_"), value)
        if problem:
            raise ConfigError(f"lint.platform.{key}: {problem}", file=file)
    platform = platform_from(platform_table, f"config {file}")
    if "strict-images" in table:
        platform = platform_from({"strict_images": bool(table["strict-images"])}, platform.source, platform)
    return LintConfig(
        select=_codes(table.get("select", []), "select", file),
        ignore=_codes(table.get("ignore", []), "ignore", file),
        exclude=tuple(exclude),
        fail_on=_severity(table.get("fail-on", "error"), "lint.fail-on", file),
        severity={k.upper(): _severity(v, f"lint.severity.{k}", file) for k, v in severity.items()},
        platform=platform,
        file=file,
    )


def load_config(path: Path) -> LintConfig:
    """An explicit config file: ``.infergate.toml``-style (``[lint]``) or a pyproject.toml."""
    data = read_toml(path, "config")
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("infergate", {}).get("lint", {})
    else:
        table = data.get("lint", {})
    if not isinstance(table, dict):
        raise ConfigError("the lint settings must be a table", file=str(path))
    return config_from_table(table, str(path))


def discover_config(start: Path | None = None) -> LintConfig:
    """The ``[lint]`` settings of the project above ``start`` (infergate.toml, or ``[tool.infergate.lint]``
    in pyproject.toml); in a repository that is no infergate project, the nearest ``.infergate.toml``
    (lint-only settings) below the repository root (the first pyproject.toml upwards)."""
    from infergate.project.discovery import find_project

    project = find_project(start)
    if project is not None:
        return config_from_table(project.lint_settings, str(project.file))
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        dotfile = directory / ".infergate.toml"
        if dotfile.is_file():
            return load_config(dotfile)
        if (directory / "pyproject.toml").is_file():
            return LintConfig()  # the repository root: stop here
    return LintConfig()

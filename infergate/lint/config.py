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
    [tool.infergate.lint.provided]        # the world model: objects that exist outside the linted tree
    secrets = ["demo/hf-token"]           # NS/NAME (NS may be "*"); namespaces/crd-groups take NAME
    gateways = ["opendatahub/inference-gateway"]
    objects = ["ConfigMap/demo/kserve-config"]   # any KIND/NS/NAME
    # closed-world = true                 # unknown references are errors (default only for dist/<env>)
    # namespace = "demo"                  # kubectl's context namespace for objects that name none
    # scopes = ["samples/*"]              # each matching directory is its own cluster (else one cluster)

Unknown keys are errors (a typo must not silently disable a rule).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infergate.core.errors import ConfigError
from infergate.core.findings import Severity
from infergate.core.world import ProvidedError, provided_from_table
from infergate.lint.platform import Platform, platform_from
from infergate.netpol.cluster import fact_problem
from infergate.project.discovery import read_toml

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_KEYS = {
    "select", "ignore", "exclude", "fail-on", "strict-images", "severity", "platform",
    "provided", "closed-world", "namespace", "scopes",
}


@dataclass(frozen=True, slots=True)
class LintConfig:
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    fail_on: Severity = Severity.ERROR
    severity: dict[str, Severity] = field(default_factory=dict)
    platform: Platform = field(default_factory=Platform)
    file: str | None = None
    scopes: tuple[str, ...] = ()  # directory globs: each match is its own cluster (infergate.lint.scopes)


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
    platform = _world_settings(table, file, platform)
    scopes = table.get("scopes", [])
    if not isinstance(scopes, list) or not all(isinstance(v, str) and v.strip() for v in scopes):
        raise ConfigError("lint.scopes must be a list of directory glob patterns", file=file)
    return LintConfig(
        select=_codes(table.get("select", []), "select", file),
        ignore=_codes(table.get("ignore", []), "ignore", file),
        exclude=tuple(exclude),
        fail_on=_severity(table.get("fail-on", "error"), "lint.fail-on", file),
        severity={k.upper(): _severity(v, f"lint.severity.{k}", file) for k, v in severity.items()},
        platform=platform,
        file=file,
        scopes=tuple(scopes),
    )


def _world_settings(table: dict[str, Any], file: str, platform: Platform) -> Platform:
    """``provided``, ``closed-world`` and ``namespace``: the world model's settings (infergate.core.world)."""
    values: dict[str, Any] = {}
    provided = table.get("provided", {})
    if not isinstance(provided, dict):
        raise ConfigError("lint.provided must be a table of KIND = [\"NS/NAME\", ...]", file=file)
    try:
        values["provided"] = provided_from_table(provided)
    except ProvidedError as exc:
        msg = str(exc)
        raise ConfigError(f"lint.{msg}" if msg.startswith("provided.") else f"lint.provided: {msg}",
                          file=file) from None
    if "closed-world" in table:
        if not isinstance(table["closed-world"], bool):
            raise ConfigError("lint.closed-world must be true or false", file=file)
        values["closed_world"] = table["closed-world"]
    if "namespace" in table:
        namespace = table["namespace"]
        if not isinstance(namespace, str) or not _DNS_LABEL.match(namespace):
            raise ConfigError(f"lint.namespace: {namespace!r} is not a namespace name", file=file)
        values["namespace"] = namespace
    return platform_from(values, platform.source, platform)


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

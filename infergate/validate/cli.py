"""The `infergate validate` command body: options -> validate_paths -> a reporter -> exit code."""

from __future__ import annotations

import gc
from pathlib import Path

import click

from infergate.core.findings import exit_code
from infergate.core.reporters import RENDERERS, render_text
from infergate.validate import codes
from infergate.validate.run import validate_paths


def run_validate(paths: list[Path], *, kubernetes_version: str | None, strict: bool, no_cel: bool,
                 ignore_missing_schemas: bool, fmt: str, summary: bool, jobs: int = 0,
                 profile: str | None = None) -> int:
    # A one-shot process whose data (parsed manifests) is acyclic: reference counting frees all of it,
    # and the cycle collector would only rescan ~100 containers per object again and again (~10%).
    gc.disable()
    findings, stats = validate_paths(paths, kubernetes_version=kubernetes_version, cel=not no_cel,
                                     ignore_missing=ignore_missing_schemas, strict=strict, jobs=jobs,
                                     profile=profile)
    if fmt == "text":
        output = render_text(findings, stats, show_summary=summary)
    elif fmt == "sarif":
        output = RENDERERS["sarif"](findings, stats, rules=codes.ALL, tool_name="infergate-validate")
    else:
        output = RENDERERS[fmt](findings, stats)
    if output:
        click.echo(output)
    if summary and fmt not in ("text", "json"):
        click.echo(render_text([], stats), err=True)
    return exit_code(findings, input_error=stats["input_errors"] > 0)

"""validate_paths: group the input files by Kubernetes minor and platform profile, validate each group (in
worker processes when it pays), merge the chunks and summarize. The per-object work is in engine.py."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from infergate.core.errors import ConfigError
from infergate.core.findings import Finding, summarize
from infergate.core.loader import Document, LoadProblem, iter_files, line_of
from infergate.project.discovery import env_file_for_dist
from infergate.synth import profiles
from infergate.synth.envfiles import chain, declared
from infergate.validate.celfast import store as celfast_store
from infergate.validate.engine import ChunkResult, Validator
from infergate.validate.parallel import validate_in_parallel

DEFAULT_KUBERNETES_VERSION = "1.33"
_MINOR = re.compile(r"1\.[0-9]+")  # as environment.schema.json says

Group = tuple[str, str]  # (Kubernetes minor, platform profile)


def files_by_kubernetes_version(files: list[Path], requested: str | None,
                                profile: str | None = None) -> dict[Group, list[Path]]:
    """Which Kubernetes minor and which profile's CRDs each file is validated against: ``requested`` /
    ``profile`` for all when given, else the ``kubernetesVersion`` / ``profile`` of the environment whose
    ``dist/<env>/`` holds the file, else the defaults."""
    groups: dict[Group, list[Path]] = {}
    by_env_file: dict[Path | None, Group] = {}
    for path in files:
        env_file = None if requested and profile else env_file_for_dist(path)
        if env_file not in by_env_file:
            docs = chain(env_file) if env_file else None  # one read of the file and its bases for both keys
            version = requested or (_declared_version(docs) if docs else DEFAULT_KUBERNETES_VERSION)
            chosen = profile or (declared_profile(docs) if docs else profiles.default_name())
            by_env_file[env_file] = (version, chosen)
        groups.setdefault(by_env_file[env_file], []).append(path)
    return groups


def _declared_version(env_file: Path | list[Document]) -> str:
    found = declared(env_file, "kubernetesVersion")
    if found is None:
        return DEFAULT_KUBERNETES_VERSION
    value, doc = found
    if not isinstance(value, str) or not _MINOR.fullmatch(value):
        raise ConfigError(f"kubernetesVersion must be a minor version string such as \"1.33\", not {value!r}",
                          file=doc.file, line=line_of(doc, ["kubernetesVersion"]))
    return value


def declared_profile(env_file: Path | list[Document]) -> str:
    found = declared(env_file, "profile")
    if found is None:
        return profiles.default_name()
    value, doc = found
    if value not in profiles.names():
        raise ConfigError(f"profile must be one of {', '.join(profiles.names())}, not {value!r}",
                          file=doc.file, line=line_of(doc, ["profile"]))
    return str(value)


def validate_paths(paths: Iterable[str | os.PathLike[str]], *, kubernetes_version: str | None = None,
                   cel: bool = True, ignore_missing: bool = False, strict: bool = True,
                   jobs: int = 1, profile: str | None = None) -> tuple[list[Finding], dict[str, Any]]:
    """Validate every object under ``paths``; findings sorted by file and line, and the summary.

    ``kubernetes_version``: the core schemas' minor for every file; ``profile``: the platform profile
    whose pinned CRDs apply to every file; None: per file, see ``files_by_kubernetes_version``.
    ``jobs``: worker processes (0: one per CPU when the input is big enough to pay for them); the result
    does not depend on it. ``summary["input_errors"]`` counts
    unreadable inputs (the CLI exits 2 when > 0).
    """
    files: list[Path] = []
    missing: list[LoadProblem] = []
    for item in iter_files(paths):
        (missing if isinstance(item, LoadProblem) else files).append(item)
    groups = files_by_kubernetes_version(files, kubernetes_version, profile) \
        or {(kubernetes_version or DEFAULT_KUBERNETES_VERSION, profile or profiles.default_name()): []}
    result = ChunkResult()
    versions: set[str] = set()
    used: set[str] = set()
    built = False
    for (version, chosen), group in sorted(groups.items()):
        validator = Validator(version, cel=cel, ignore_missing=ignore_missing, strict=strict, profile=chosen)
        result.merge(validate_in_parallel(group, missing, validator, jobs))
        missing = []  # reported once
        versions.add(validator.store.index["kubernetes"])
        used.add(chosen)
        built = built or validator.store.built
    celfast_store.save()  # the rules this run compiled, for the next run
    findings = [*result.findings, *result.unevaluated.values()]
    findings.sort(key=Finding.sort_key)
    summary = summarize(
        findings, objects=result.objects, files=len(result.files), input_errors=result.input_errors,
        kubernetes_version=", ".join(sorted(versions, key=_minor)), profile=", ".join(sorted(used)), cel=cel,
        cel_rules_evaluated=result.cel_evaluated,
        cel_transition_rules_skipped=result.cel_transition_skipped,
        skipped_missing_schemas=result.skipped_missing,
        schema_cache="built" if built else "warm")
    return findings, summary


def _minor(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())

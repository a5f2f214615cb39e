"""Install pinned CRDs (infergate/crds/crds.lock) into an API server with server-side apply.

Which: ``all`` (every CRD file in the lock), ``used`` (the files defining a kind that a project's dist/
holds: CRs of operators the environment installs from upstream, such as KServe's, validate against the
pinned CRDs installed first), or explicit lock names. A CRD name several pinned files define (the GIE
bundle and the stand-alone GIE releases) is applied alternates first and the validator's choice last
(``infergate.validate.crd_schema.PREFERENCE``), so the server ends up serving the schema validate uses.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infergate.apiserver.client import ApiError, KubeClient
from infergate.core.errors import InfergateError
from infergate.core.loader import load_paths
from infergate.crds import lockfile as lock
from infergate.validate.crd_schema import PREFERENCE, iter_crd_documents

FIELD_MANAGER = "infergate"
# which pinned file a served CRD came from: a server that already serves exactly these is left alone
PINNED_ANNOTATION = "infergate.io/pinned-file"
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
ESTABLISH_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class InstallReport:
    files: list[str]
    crds: int
    seconds: float


def crd_entries() -> list[lock.LockEntry]:
    return [entry for entry in lock.read_lock() if entry.kind == "crd"]


def crd_documents(entry: lock.LockEntry) -> list[dict[str, Any]]:
    """The CRDs of one pinned file. PyYAML takes seconds on the big ones (Istio's, KServe's), so the parse
    is kept as JSON next to the verified file, keyed by its sha256: later runs read it in milliseconds."""
    if entry.sha256 in _PARSED:
        return _PARSED[entry.sha256]
    cached = lock.cache_root() / "crds-json" / f"{entry.sha256}.json"
    try:
        docs = json.loads(cached.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        docs = list(iter_crd_documents(entry))
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.part")
        tmp.write_text(json.dumps(docs), encoding="utf-8")
        os.replace(tmp, cached)  # atomic: a concurrent reader sees all of it or nothing
    _PARSED[entry.sha256] = docs
    return docs


_PARSED: dict[str, list[dict[str, Any]]] = {}


def _group_kinds(entry: lock.LockEntry) -> set[tuple[str, str]]:
    return {(str(doc["spec"]["group"]), str(doc["spec"]["names"]["kind"])) for doc in crd_documents(entry)}


def kinds_in(paths: Iterable[Path]) -> set[tuple[str, str]]:
    """(group, kind) of every object under ``paths``."""
    documents, _problems = load_paths(list(paths))
    found = set()
    for doc in documents:
        obj = doc.obj
        if isinstance(obj, dict) and isinstance(obj.get("apiVersion"), str) \
                and isinstance(obj.get("kind"), str):
            found.add((obj["apiVersion"].rpartition("/")[0], obj["kind"]))
    return found


def profiles_of(dist_paths: Iterable[Path]) -> set[str]:
    """The platform profiles of the environments whose dist/<env> the paths are or hold (only the default
    profile when no path belongs to an environment: the fleet folder, files outside any project)."""
    from infergate.project.discovery import env_file_for_dist
    from infergate.synth import profiles
    from infergate.validate.run import declared_profile

    found = set()
    for path in map(Path, dist_paths):
        targets = [path, *(sorted(p for p in path.iterdir() if p.is_dir()) if path.is_dir() else [])]
        for target in targets:
            env_file = env_file_for_dist(target)
            if env_file is not None:
                found.add(declared_profile(env_file))
    return found or {profiles.default_name()}


def select(choice: str, dist_paths: list[Path] | None = None,
           profile: str | None = None) -> list[lock.LockEntry]:
    """``all``, ``used`` (needs ``dist_paths``) or comma-separated lock names, in install order.

    ``all`` and ``used`` draw from one platform profile's CRD set (``profile``; else the profile of the
    dist paths, else the default): two profiles pin different releases of the same CRD, and one server
    serves one of them."""
    from infergate.validate.crdset import profile_entries

    if profile is None and dist_paths:
        found = profiles_of(dist_paths)
        if len(found) > 1:
            raise InfergateError(f"these environments use different platform profiles "
                                 f"({', '.join(sorted(found))}): one API server serves one profile's CRDs; "
                                 "verify them one at a time")
        profile = next(iter(found))
    if choice == "all":
        chosen = profile_entries(profile)
    elif choice == "used":
        if not dist_paths:
            raise InfergateError("--crds used needs a project (run inside one, or pass --crds all)")
        wanted = kinds_in(dist_paths)
        chosen = [entry for entry in profile_entries(profile) if _group_kinds(entry) & wanted]
    else:
        entries = crd_entries()
        names = [name.strip() for name in choice.split(",") if name.strip()]
        chosen = [lock.entry_named(name, entries) for name in names]
        for entry in chosen:
            if entry.kind != "crd":
                raise InfergateError(f"{entry.name} is not a CRD (kind {entry.kind!r} in crds.lock)")
    # alternates first, the validator's choice last: on a shared CRD name the last apply wins
    rank = {name: i for i, name in enumerate(PREFERENCE)}
    preferred = sorted((e for e in chosen if e.name in rank), key=lambda e: rank[e.name], reverse=True)
    return [e for e in chosen if e.name not in rank] + preferred


def _documents(entries: list[lock.LockEntry]) -> list[tuple[lock.LockEntry, dict[str, Any]]]:
    return [(entry, doc) for entry in entries for doc in crd_documents(entry)]


def _pin(entry: lock.LockEntry) -> str:
    return f"{entry.name}@{entry.sha256[:16]}"


def _already_served(client: KubeClient, docs: list[tuple[lock.LockEntry, dict[str, Any]]]) -> bool:
    """Every CRD name is served, Established, from the file that wins it (the last one applied)."""
    final = {str(doc["metadata"]["name"]): _pin(entry) for entry, doc in docs}
    served = {}
    for crd in client.request("GET", CRD_PATH).get("items", []):
        meta = crd.get("metadata") or {}
        conditions = (crd.get("status") or {}).get("conditions") or []
        if any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions):
            served[meta.get("name")] = (meta.get("annotations") or {}).get(PINNED_ANNOTATION)
    return all(served.get(name) == pin for name, pin in final.items())


def install(client: KubeClient, entries: list[lock.LockEntry],
            progress: Callable[[str], None] = lambda _: None) -> InstallReport:
    """Apply every CRD of ``entries`` and wait until the server serves each (Established)."""
    for entry in entries:
        lock.verified_path(entry)  # one clear "run `infergate crds sync`" before any request
    start = time.monotonic()
    docs = _documents(entries)
    names: dict[str, str] = {}
    if _already_served(client, docs):
        crd_names = {d["metadata"]["name"] for _, d in docs}
        return InstallReport(files=[e.name for e in entries], crds=len(crd_names),
                             seconds=time.monotonic() - start)
    for entry, doc in docs:
        name = str(doc["metadata"]["name"])
        body = {k: v for k, v in doc.items() if k != "status"}
        meta = body["metadata"] = dict(body["metadata"])
        meta["annotations"] = {**(meta.get("annotations") or {}), PINNED_ANNOTATION: _pin(entry)}
        try:
            client.apply(f"{CRD_PATH}/{name}", body, FIELD_MANAGER)
        except ApiError as exc:
            raise InfergateError(f"the API server rejected pinned CRD {name} from {entry.name}: "
                                 f"{exc.message}", file=str(lock.cached_file(entry))) from exc
        names[name] = entry.name
    progress(f"applied {len(names)} CRDs from {len(entries)} pinned files; waiting until they are served")
    _wait_established(client, list(names))
    client.forget()
    return InstallReport(files=[e.name for e in entries], crds=len(names), seconds=time.monotonic() - start)


def _wait_established(client: KubeClient, names: list[str]) -> None:
    deadline = time.monotonic() + ESTABLISH_TIMEOUT_S
    pending = set(names)
    while pending and time.monotonic() < deadline:
        for name in sorted(pending):
            crd = client.get(f"{CRD_PATH}/{name}") or {}
            conditions = (crd.get("status") or {}).get("conditions") or []
            if any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions):
                pending.discard(name)
        if pending:
            time.sleep(0.2)
    if pending:
        raise InfergateError(f"CRDs not established within {ESTABLISH_TIMEOUT_S:.0f} s: "
                             f"{', '.join(sorted(pending)[:5])}")

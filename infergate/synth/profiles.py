"""Platform profiles (data/profiles.yaml): versions of KServe, Istio and the Inference Extension that work
together, the API versions the charts emit for them and the pinned CRDs that validate them.

The one table synth, validate and lint read; nothing else in infergate names these versions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

TABLE_PATH = Path(__file__).parent / "data" / "profiles.yaml"
_MINOR = re.compile(r"v?(\d+)\.(\d+)")


@dataclass(frozen=True, slots=True)
class KServeInstall:
    install: str  # "kustomize" (an overlay at a commit) | "helm" (KServe's OCI charts)
    repo_url: str
    namespace: str
    llmisvc_api_version: str
    model_criticality: bool  # spec.model.criticality is served
    signing_ca: tuple[str, str] | None  # (secret, namespace) KServe signs model-server certificates with
    workload_destination_rules: bool  # the controller writes the DestinationRules to vLLM itself
    revision: str | None = None  # kustomize
    path: str | None = None  # kustomize
    version: str | None = None  # helm
    scaling: bool = False  # LLMInferenceService spec.scaling (WVA + HPA/KEDA) is served: synth/scaling.py


@dataclass(frozen=True, slots=True)
class CrdSource:
    """Extra CRD files an Application syncs from a Git repository (directory include)."""

    repo_url: str
    revision: str
    path: str
    files: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    summary: str
    kserve: KServeInstall
    sail_operator_version: str
    istio_version: str  # the default mesh.version
    istio_minors: tuple[str, ...]  # the Istio lines this profile's pool API works with
    pool_api_version: str
    objective_api_version: str
    objective_kinds: tuple[str, ...]  # the first is the default
    model_rewrite_api_version: str | None
    inference_extension_crds: CrdSource | None
    epp_image: str
    epp_config_api_version: str
    epp_leader_election: bool
    crds: tuple[str, ...]  # lock entry names
    presets: tuple[str, ...]  # lock entry names
    bbr_image: str | None = None  # GIE's Body-Based Router (gateway.sharedPath); None: not offered

    @property
    def pool_group(self) -> str:
        return self.pool_api_version.rpartition("/")[0]

    @property
    def objective_group(self) -> str:
        return self.objective_api_version.rpartition("/")[0]

    @property
    def ga_pool(self) -> bool:
        return self.pool_group == "inference.networking.k8s.io"

    def serves_istio(self, version: str) -> bool:
        return istio_minor(version) in self.istio_minors


def istio_minor(version: str) -> str:
    """``v1.28.3`` -> ``1.28`` (what a profile lists)."""
    match = _MINOR.match(version)
    return f"{match.group(1)}.{match.group(2)}" if match else version


def _kserve(raw: dict[str, Any]) -> KServeInstall:
    ca = raw.get("signingCA")
    return KServeInstall(install=raw["install"], repo_url=raw["repoURL"], namespace=raw["namespace"],
                         llmisvc_api_version=raw["llmisvcApiVersion"],
                         model_criticality=bool(raw["modelCriticality"]),
                         signing_ca=(ca["secret"], ca["namespace"]) if ca else None,
                         workload_destination_rules=bool(raw["workloadDestinationRules"]),
                         revision=raw.get("revision"), path=raw.get("path"), version=raw.get("version"),
                         scaling=bool(raw.get("scaling", False)))


def _profile(name: str, raw: dict[str, Any]) -> Profile:
    crd_src = raw.get("inferenceExtensionCRDs")
    rewrite = raw.get("modelRewrite")
    return Profile(
        name=name, summary=" ".join(raw["summary"].split()), kserve=_kserve(raw["kserve"]),
        sail_operator_version=raw["sailOperator"]["version"], istio_version=raw["istio"]["version"],
        istio_minors=tuple(raw["istio"]["minors"]), pool_api_version=raw["inferencePool"]["apiVersion"],
        objective_api_version=raw["objectives"]["apiVersion"],
        objective_kinds=tuple(raw["objectives"]["kinds"]),
        model_rewrite_api_version=rewrite["apiVersion"] if rewrite else None,
        inference_extension_crds=CrdSource(crd_src["repoURL"], crd_src["revision"], crd_src["path"],
                                           tuple(crd_src["files"])) if crd_src else None,
        epp_image=raw["epp"]["image"], epp_config_api_version=raw["epp"]["configApiVersion"],
        epp_leader_election=bool(raw["epp"]["leaderElection"]),
        crds=tuple(raw["crds"]), presets=tuple(raw.get("presets", ())),
        bbr_image=(raw.get("bodyBasedRouter") or {}).get("image"))


@lru_cache(maxsize=1)
def _table() -> tuple[str, dict[str, Profile]]:
    raw = yaml.safe_load(TABLE_PATH.read_text(encoding="utf-8"))
    return raw["default"], {name: _profile(name, body) for name, body in raw["profiles"].items()}


def profiles() -> dict[str, Profile]:
    return dict(_table()[1])


def names() -> tuple[str, ...]:
    return tuple(_table()[1])


def default_name() -> str:
    return _table()[0]


def get(name: str | None = None) -> Profile:
    """The profile called ``name`` (the default one for None); KeyError for an unknown name."""
    return _table()[1][name or default_name()]


def _minor_key(minor: str) -> tuple[int, int]:
    major, _, rest = minor.partition(".")
    return int(major), int(rest)


def pool_groups_for_istio(version: str) -> frozenset[str]:
    """The InferencePool API groups an Istio version routes to, by the profile table: the groups of the
    profiles listing its minor; past the newest listed minor, the newest profiles' groups (Istio keeps
    the GA API); before the oldest, none (no InferencePool support)."""
    minor = istio_minor(version)
    if not _MINOR.fullmatch(minor):
        return frozenset()
    table = profiles().values()
    exact = {p.pool_group for p in table if minor in p.istio_minors}
    if exact:
        return frozenset(exact)
    known = sorted({m for p in table for m in p.istio_minors}, key=_minor_key)
    if _minor_key(minor) > _minor_key(known[-1]):
        return frozenset(p.pool_group for p in table if known[-1] in p.istio_minors)
    return frozenset()


def profiles_for_pool_group(group: str) -> list[Profile]:
    return [p for p in profiles().values() if p.pool_group == group]

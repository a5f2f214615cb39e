"""The security model (policies/data/security-model.yaml): required and forbidden flows between roles."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

import infergate.policies
from infergate.core.errors import ConfigError
from infergate.netpol.cluster import ROLES
from infergate.netpol.model import PROTOCOLS

MODEL_PATH = Path(infergate.policies.__file__).resolve().parent / "data" / "security-model.yaml"
ANY_PORT = "*"
_CONDITIONS = ("model-uri-needs-network", "metrics-open")  # the second: on destinations (flows.py)
_SCOPES = ("namespace", "group")  # group: the pods of one LeaderWorkerSet (endpoint attr "group")


@dataclass(frozen=True, slots=True)
class FlowSpec:
    id: str
    sources: tuple[str, ...]  # roles
    to: str
    ports: tuple[tuple[int, str] | str, ...]  # (number, protocol) or "*"
    why: str
    match: str = "all"
    each: tuple[str, ...] = ("source",)
    scope: str | None = None  # namespace | group: only pairs in the same namespace / LeaderWorkerSet count
    when: str | None = None
    exempt: str | None = None  # group: pairs inside one LeaderWorkerSet (a multi-host slice) are not checked


@dataclass(frozen=True, slots=True)
class SecurityModel:
    required: tuple[FlowSpec, ...]
    forbidden: tuple[FlowSpec, ...]


def _port(value: Any, where: str) -> tuple[int, str] | str:
    if value == ANY_PORT:
        return ANY_PORT
    proto, _, number = str(value).partition("/")
    if proto not in PROTOCOLS or not number.isdigit():
        raise ConfigError(f"{where}: port {value!r} is not PROTO/NUMBER or '*'", file=str(MODEL_PATH))
    return (int(number), proto)


def _roles(values: Any, where: str) -> tuple[str, ...]:
    if not isinstance(values, list) or not values:
        raise ConfigError(f"{where}: needs a list of roles", file=str(MODEL_PATH))
    out = ROLES if values == ["*"] else tuple(values)
    unknown = [r for r in out if r not in ROLES]
    if unknown:
        raise ConfigError(f"{where}: unknown role {unknown[0]!r} (known: {', '.join(ROLES)})",
                          file=str(MODEL_PATH))
    return out


def _flow(entry: Any, kind: str, index: int) -> FlowSpec:
    where = f"{kind}[{index}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
        raise ConfigError(f"{where}: needs an id", file=str(MODEL_PATH))
    where = f"{kind} {entry['id']}"
    sources = _roles(entry.get("from"), f"{where}.from")
    excluded = _roles(entry["except"], f"{where}.except") if "except" in entry else ()
    (to,) = _roles([entry.get("to")], f"{where}.to")
    ports = tuple(_port(p, f"{where}.ports") for p in entry.get("ports") or [ANY_PORT])
    match = entry.get("match", "all")
    each = tuple(entry.get("each", ["source"]))
    if match not in ("all", "any") or not set(each) <= {"source", "destination"}:
        raise ConfigError(f"{where}: match is all|any, each is [source, destination]", file=str(MODEL_PATH))
    if entry.get("scope") not in (None, *_SCOPES) or entry.get("when") not in (None, *_CONDITIONS) \
            or entry.get("exempt") not in (None, "group"):
        raise ConfigError(f"{where}: unknown scope or when, or an exempt other than group",
                          file=str(MODEL_PATH))
    return FlowSpec(entry["id"], tuple(r for r in sources if r not in excluded), to, ports,
                    str(entry.get("why", "")).strip(), match, each, entry.get("scope"), entry.get("when"),
                    entry.get("exempt"))


def parse_model(data: Any) -> SecurityModel:
    if not isinstance(data, dict):
        raise ConfigError("the security model is a mapping", file=str(MODEL_PATH))
    return SecurityModel(
        required=tuple(_flow(e, "required", i) for i, e in enumerate(data.get("required") or [])),
        forbidden=tuple(_flow(e, "forbidden", i) for i, e in enumerate(data.get("forbidden") or [])))


@lru_cache(maxsize=1)
def security_model() -> SecurityModel:
    try:
        data = yaml.safe_load(MODEL_PATH.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the security model: {exc}", file=str(MODEL_PATH)) from None
    return parse_model(data)

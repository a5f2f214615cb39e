"""Platform facts lint rules need (provided secrets, Istio version...), from the environment or config.

When linting ``dist/<env>``, the environment that produced it is the source of truth
(``infergate.synth.config.environment_for_dist``). For other paths the lint config's ``[platform]`` table
supplies them; objects in the output (a sail-operator ``Istio``) win over both where rules can see them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from infergate.core.errors import ConfigError, InfergateError


@dataclass(frozen=True, slots=True)
class Platform:
    kubernetes_version: str = "1.33"
    istio_version: str | None = None
    # "namespace/name" or "name" (any namespace): Secrets that exist without being in the output
    provided_secrets: frozenset[str] = frozenset()
    # LLMInferenceServiceConfig names the platform installs (KServe's well-known presets by default)
    provided_configs: frozenset[str] = frozenset(
        {
            "kserve-config-llm-template",
            "kserve-config-llm-router-route",
            "kserve-config-llm-scheduler",
            "kserve-config-llm-decode-template",
            "kserve-config-llm-prefill-template",
            "kserve-config-llm-worker-data-parallel",
            "kserve-config-llm-decode-worker-data-parallel",
            "kserve-config-llm-prefill-worker-data-parallel",
        }
    )
    strict_images: bool = False
    source: str = "defaults"
    extra: Mapping[str, Any] = field(default_factory=dict)  # every other fact, as given (NP rules use them)

    def secret_provided(self, namespace: str | None, name: str) -> bool:
        return name in self.provided_secrets or f"{namespace}/{name}" in self.provided_secrets

    def fact(self, name: str, default: Any = None) -> Any:
        return self.extra.get(name, default)


_KNOWN = {f.name for f in fields(Platform)} - {"source", "extra"}


def _secret_names(value: Any) -> frozenset[str]:
    """Accept ["ns/name", "name"], [{namespace, name}], or {namespace: [names]}."""
    names: set[str] = set()
    if isinstance(value, Mapping):
        for ns, items in value.items():
            names.update(f"{ns}/{n}" for n in (items if isinstance(items, list | tuple) else [items]))
        return frozenset(names)
    for item in value or ():
        if isinstance(item, str):
            names.add(item)
        elif isinstance(item, tuple | list) and len(item) == 2:
            names.add(f"{item[0]}/{item[1]}" if item[0] else str(item[1]))
        elif isinstance(item, Mapping) and item.get("name"):
            names.add(f"{item['namespace']}/{item['name']}" if item.get("namespace") else str(item["name"]))
        elif hasattr(item, "name"):
            ns = getattr(item, "namespace", None)
            names.add(f"{ns}/{item.name}" if ns else str(item.name))
    return frozenset(names)


def platform_from(values: Mapping[str, Any], source: str, base: Platform | None = None) -> Platform:
    """Merge ``values`` (snake_case or kebab-case keys) over ``base``."""
    base = base or Platform()
    known: dict[str, Any] = {}
    extra = dict(base.extra)
    for raw_key, value in values.items():
        key = raw_key.replace("-", "_")
        if value is None:
            continue
        if key == "provided_secrets":
            known[key] = base.provided_secrets | _secret_names(value)
        elif key == "provided_configs":
            known[key] = base.provided_configs | frozenset(str(v) for v in value)
        elif key in _KNOWN:
            known[key] = value if key != "kubernetes_version" else str(value)
        else:
            extra[key] = value
    return Platform(**{**{f: getattr(base, f) for f in _KNOWN}, **known}, source=source, extra=extra)


def _facts_as_mapping(facts: Any) -> dict[str, Any]:
    if isinstance(facts, Mapping):
        return dict(facts)
    if hasattr(facts, "__dataclass_fields__"):
        return {name: getattr(facts, name) for name in facts.__dataclass_fields__}
    if hasattr(facts, "model_dump"):
        return dict(facts.model_dump())
    return (
        {k: v for k, v in vars(facts).items() if not k.startswith("_")} if hasattr(facts, "__dict__") else {}
    )


def platform_for_paths(paths: Iterable[str | Path], base: Platform) -> Platform:
    """Facts of the environment behind ``dist/<env>`` paths, merged over ``base`` (config facts)."""
    try:
        from infergate.synth.config import environment_for_dist  # type: ignore[attr-defined]
    except ImportError:
        return base  # the environment model does not offer it (yet): config/defaults only
    platform = base
    for path in paths:
        try:
            env = environment_for_dist(Path(path))
        except (InfergateError, ConfigError):
            raise
        except (OSError, ValueError, LookupError):
            env = None
        if env is None:
            continue
        facts = getattr(env, "platform", None)
        if facts is None:
            continue
        values = _facts_as_mapping(facts)
        secrets = set(values.get("provided_secrets") or ())
        for name in _env_secret_names(env):
            secrets.add(name)
        values["provided_secrets"] = sorted(secrets, key=str)
        sizes = _env_model_sizes(env)  # GPU414 weighs a model by the environment's parameter count
        values["model_parameters_b"] = {**(platform.fact("model_parameters_b") or {}), **sizes}
        platform = platform_from(values, f"environment {getattr(env, 'name', '?')}", platform)
    return platform


def _env_secret_names(env: Any) -> list[str]:
    """Pre-provisioned secrets the environment names per model (HF token, pull secrets), if it models them."""
    names: list[str] = []
    for model in getattr(env, "models", None) or ():
        ns = getattr(model, "namespace", None)
        for attr in ("hf_token_secret", "image_pull_secrets", "pull_secrets", "secrets"):
            value = getattr(model, attr, None)
            for item in [value] if isinstance(value, str) else (value or ()):
                if isinstance(item, str):
                    names.append(f"{ns}/{item}" if ns else item)
    return names


def _env_model_sizes(env: Any) -> dict[str, float]:
    """"namespace/name" of each model -> billions of parameters, where the environment knows them (GPU414)."""
    return {f"{m.namespace}/{m.name}": float(m.parameters_b) for m in getattr(env, "models", None) or ()
            if getattr(m, "parameters_b", None) is not None}

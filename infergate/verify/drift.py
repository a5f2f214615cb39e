"""Which server-side changes Argo CD's diff would show: the model behind API002.

Argo CD predicts the live object from the manifest and compares the prediction with the live object
(gitops-engine ``pkg/diff``). Which prediction depends on the Application:
  * ``ServerSideApply=true`` (its syncOptions, or the object's ``argocd.argoproj.io/sync-options``):
    the structured-merge diff, modelled below;
  * otherwise (client-side apply): the legacy three-way diff. For a custom resource it first strips
    from the live object every field the last-applied manifest lacks (recursively, list items by
    index), so server defaults never show; only values the server rewrote or dropped do (``shown``).
The structured-merge diff applies the manifest onto the live object the way the API server merges an
apply --
  * a map keeps the live fields the manifest does not mention, unless argocd-controller owns them
    (its ``managedFields`` entry), in which case the apply removes them;
  * an atomic list (a CRD list without ``x-kubernetes-list-type``, or ``atomic``) is replaced whole by
    the manifest's list: whatever the server defaulted inside its items is gone from the prediction;
  * an associative list (``map``, items keyed) merges item by item, a ``set`` keeps its values;
  * a scalar takes the manifest's value.
A field of the live object that the prediction lacks or holds differently is a diff. List types come
from argocd-controller's own ``managedFields`` (``k:{...}`` entries: map; ``v:``: set; a leaf: atomic),
so no schema is needed. Then Argo CD's normalizations:
  * built-in kinds (not served by a CRD): Argo CD re-applies the Kubernetes scheme defaulters to both
    sides, so server defaults of built-in types never show; only custom resources are reported;
  * ``ServerSideDiff=true`` (Application annotation ``argocd.argoproj.io/compare-options``): the
    prediction is the server's own dry-run apply, defaults included on both sides: nothing shows;
  * the Application's ``ignoreDifferences`` ``jsonPointers`` for the object's group/kind/name/namespace
    remove matching fields (``jqPathExpressions`` are not evaluated: such a field is still reported).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

MANAGER = "argocd-controller"


@dataclass(frozen=True, slots=True)
class Drift:
    path: list[str | int]  # where in the object
    # "added" (the server added it), "changed" (rewrote the value), "removed" (dropped it): the diff shows
    # these; "kept": the server added it but the prediction keeps it too, so the diff does not show it
    change: str
    live: Any = None
    declared: Any = None

    @property
    def pointer(self) -> str:
        return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in self.path)

    @property
    def dotted(self) -> str:
        out = ""
        for part in self.path:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out

    def shown(self, server_side_apply: bool) -> bool:
        """Does the Application's diff show it? Structured-merge diff (server-side apply): everything but
        "kept"; legacy three-way diff (client-side apply): only values the server rewrote or dropped,
        since it strips every live field the manifest (last-applied) lacks, inside list items too."""
        if server_side_apply:
            return self.change != "kept"
        return self.change in ("changed", "removed")

    def message(self, server_side_apply: bool) -> str:
        value = json.dumps(self.live, sort_keys=True, separators=(", ", ": "))
        if len(value) > 160:
            value = value[:157] + "..."
        if self.change == "removed":
            return (f"the server drops {self.dotted} (declared {json.dumps(self.declared)}), "
                    "which Argo CD's diff shows")
        if self.change == "changed":
            return (f"the server changes {self.dotted} from {json.dumps(self.declared)} to {value}, "
                    "which Argo CD's diff shows")
        if self.shown(server_side_apply):
            return f"the server adds {self.dotted} = {value}, which Argo CD's diff shows"
        if self.change == "added":  # inside an atomic list, or owned: only the legacy diff hides it
            return (f"the server adds {self.dotted} = {value}; hidden by the legacy diff of this client-side "
                    "synced Application, shown once it syncs with ServerSideApply=true")
        return (f"the server adds {self.dotted} = {value}; Argo CD's diff does not show it (outside the "
                "fields the manifest sets)")


def owned_fields(live: dict[str, Any], manager: str = MANAGER) -> dict[str, Any]:
    """The union of ``manager``'s Apply ``fieldsV1`` (the fields its apply owns)."""
    owned: dict[str, Any] = {}
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if isinstance(entry, dict) and entry.get("manager") == manager and entry.get("operation") == "Apply":
            _union(owned, entry.get("fieldsV1") or {})
    return owned


def _union(into: dict[str, Any], other: dict[str, Any]) -> None:
    for key, value in other.items():
        if isinstance(value, dict):
            _union(into.setdefault(key, {}), value)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return float(a) == float(b)
    return bool(a == b)


def _list_type(own: dict[str, Any] | None) -> str:
    if own:
        if any(k.startswith("k:") for k in own):
            return "map"
        if any(k.startswith("v:") for k in own):
            return "set"
    return "atomic"


def _item_key(own_key: str) -> dict[str, Any] | None:
    try:
        key = json.loads(own_key[2:])
    except ValueError:
        return None
    return key if isinstance(key, dict) else None


def diff(declared: Any, live: Any, own: dict[str, Any] | None, path: list[str | int]) -> list[Drift]:
    """Every field where the predicted object (``declared`` applied onto ``live``) differs from ``live``."""
    if isinstance(declared, dict) and isinstance(live, dict):
        out: list[Drift] = []
        for key, value in declared.items():
            child_own = (own or {}).get(f"f:{key}")
            if key not in live:
                if value is not None:
                    out.append(Drift([*path, key], "removed", None, value))
                continue
            out += diff(value, live[key], child_own if isinstance(child_own, dict) else None, [*path, key])
        for key in sorted(live.keys() - declared.keys()):
            # owned by argocd-controller but not in the manifest: the apply prunes it; else it stays
            owned = bool(own) and f"f:{key}" in own  # type: ignore[operator]
            out.append(Drift([*path, key], "added" if owned else "kept", live[key]))
        return out
    if isinstance(declared, list) and isinstance(live, list):
        kind = _list_type(own)
        if kind == "map":
            return _diff_map_list(declared, live, own or {}, path)
        if kind == "set":
            missing = [v for v in declared if not any(_equal(v, w) for w in live)]
            return [Drift(path, "changed", live, declared)] if missing else []
        return _diff_atomic(declared, live, path)
    if not _equal(declared, live):
        return [Drift(path, "changed", live, declared)]
    return []


def _diff_atomic(declared: Any, live: Any, path: list[str | int]) -> list[Drift]:
    """Inside an atomic value the prediction is the manifest itself: every extra live field shows."""
    if isinstance(declared, dict) and isinstance(live, dict):
        out: list[Drift] = []
        for key, value in declared.items():
            if key in live:
                out += _diff_atomic(value, live[key], [*path, key])
            elif value is not None:
                out.append(Drift([*path, key], "removed", None, value))
        out += [Drift([*path, key], "added", live[key]) for key in sorted(live.keys() - declared.keys())]
        return out
    if isinstance(declared, list) and isinstance(live, list):
        out = []
        for i, (d, v) in enumerate(zip(declared, live, strict=False)):
            out += _diff_atomic(d, v, [*path, i])
        out += [Drift([*path, i], "added", v) for i, v in enumerate(live) if i >= len(declared)]
        out += [Drift([*path, i], "removed", None, d) for i, d in enumerate(declared) if i >= len(live)]
        return out
    return [] if _equal(declared, live) else [Drift(path, "changed", live, declared)]


def _diff_map_list(declared: list[Any], live: list[Any], own: dict[str, Any],
                   path: list[str | int]) -> list[Drift]:
    keys = [k for k in (_item_key(o) for o in own if o.startswith("k:")) if k]
    fields = sorted({name for k in keys for name in k})
    out: list[Drift] = []

    def key_of(item: Any) -> tuple[Any, ...] | None:
        if not isinstance(item, dict):
            return None
        return tuple(json.dumps(item.get(f), sort_keys=True) for f in fields)

    live_by_key = {key_of(item): (i, item) for i, item in enumerate(live)}
    own_by_key = {tuple(json.dumps(k.get(f), sort_keys=True) for f in fields): own[o]
                  for o in own if o.startswith("k:") and (k := _item_key(o))}
    for item in declared:
        found = live_by_key.get(key_of(item))
        if found is None:
            out.append(Drift(path, "removed", None, item))
            continue
        index, live_item = found
        child_own = own_by_key.get(key_of(item))
        out += diff(item, live_item, child_own if isinstance(child_own, dict) else None, [*path, index])
    return out


def ignored(drift: Drift, obj: dict[str, Any], rules: list[dict[str, Any]]) -> bool:
    """The Application's ``ignoreDifferences`` covers this field (jsonPointers only)."""
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    meta = obj.get("metadata") or {}
    pointer = drift.pointer
    for rule in rules:
        if str(rule.get("group", "")) not in (group, "*") \
                or str(rule.get("kind", "")) not in (obj.get("kind"), "*"):
            continue
        if rule.get("name") and rule["name"] != meta.get("name"):
            continue
        if rule.get("namespace") and rule["namespace"] != meta.get("namespace"):
            continue
        for prefix in rule.get("jsonPointers") or []:
            prefix = str(prefix).rstrip("/")
            if pointer == prefix or pointer.startswith(prefix + "/"):
                return True
    return False


def drift_of(declared: dict[str, Any], live: dict[str, Any]) -> list[Drift]:
    """The diff of one custom resource (callers skip built-in kinds and ServerSideDiff Applications)."""
    own = owned_fields(live)
    found = []
    for key in declared.keys() - {"apiVersion", "kind", "status"}:
        if key not in live:
            continue
        child_own = own.get(f"f:{key}")
        if key == "metadata":  # only what the manifest declares: the server's own metadata is normalized away
            meta_own = child_own if isinstance(child_own, dict) else {}
            for sub in ("labels", "annotations"):
                if isinstance(declared[key].get(sub), dict):
                    found += diff(declared[key][sub], (live[key] or {}).get(sub) or {},
                                  meta_own.get(f"f:{sub}"), [key, sub])
            continue
        found += diff(declared[key], live[key], child_own if isinstance(child_own, dict) else None, [key])
    for key in live.keys() - declared.keys() - {"apiVersion", "kind", "metadata", "status"}:
        if f"f:{key}" in own:
            found.append(Drift([key], "added", live[key]))
    return sorted(found, key=lambda d: [str(p) for p in d.path])

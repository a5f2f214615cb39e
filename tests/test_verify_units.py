"""verify's pieces that need no server: sync order, drift model, kubeconfig parsing, build recipe."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from infergate.apiserver import build, pins
from infergate.apiserver.client import Endpoint, kubeconfig_text, load_kubeconfig
from infergate.core.errors import InfergateError
from infergate.verify.drift import Drift, diff, drift_of, ignored
from infergate.verify.plan import plan_env
from infergate.verify.run import _parse_field
from tests.conftest import EXAMPLES, requires_examples


def _all_namespaced(obj: dict) -> bool:
    return obj.get("kind") not in ("Namespace", "ClusterIssuer", "ClusterRole", "ClusterRoleBinding")


@requires_examples
def test_plan_follows_waves_and_skips_external_sources() -> None:
    plan = plan_env(EXAMPLES / "pattern1" / "dist" / "pattern1", _all_namespaced)
    names = [step.name for step in plan.steps]
    assert names[0] == "bootstrap" and names[1].endswith("(argocd/)")
    apps = names[2:]
    # waves: namespaces -4, cert-manager and sail-operator -3, pki -2, kserve and mesh -1, gateway 0...
    order = [apps.index(f"pattern1-{name}") for name in
             ("namespaces", "cert-manager", "pki", "gateway", "model-qwen2-3b-pattern1")]
    assert order == sorted(order)
    skipped = {s.name for s in plan.steps if s.skipped}
    assert skipped == {"pattern1-cert-manager", "pattern1-kserve", "pattern1-sail-operator"}
    kserve = next(s for s in plan.steps if s.name == "pattern1-kserve")
    assert kserve.create_namespace and kserve.destination_namespace == "opendatahub"
    root = plan.steps[1]
    assert root.items[0].obj["kind"] == "AppProject"  # wave -10


def test_diff_atomic_list_shows_defaults_inside_items() -> None:
    declared = {"rules": [{"filters": [{"type": "RequestRedirect"}]}]}
    live = {"rules": [{"filters": [{"type": "RequestRedirect"}],
                       "matches": [{"path": {"type": "PathPrefix", "value": "/"}}]}]}
    own = {"f:rules": {}}  # an atomic list is owned as one leaf
    found = diff(declared, live, own, [])
    assert [(d.dotted, d.change) for d in found] == [("rules[0].matches", "added")]


def test_diff_map_keeps_unowned_defaults_and_merges_keyed_lists() -> None:
    declared = {"spec": {"version": "v1"}, "ports": [{"name": "http", "port": 80}]}
    live = {"spec": {"version": "v1", "updateStrategy": {"type": "InPlace"}},
            "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}
    item_own = {".": {}, "f:name": {}, "f:port": {}}
    own = {"f:spec": {"f:version": {}}, "f:ports": {'k:{"name":"http"}': item_own}}
    assert [d.change for d in diff(declared, live, own, [])] == ["kept", "kept"]  # in the diff: neither
    owned_default = {"f:spec": {"f:version": {}, "f:updateStrategy": {}}}
    found = diff({"spec": declared["spec"]}, {"spec": live["spec"]}, owned_default, [])
    assert [(d.dotted, d.change) for d in found] == [("spec.updateStrategy", "added")]


def test_diff_reports_rewritten_values_and_ignores_number_types() -> None:
    assert diff({"a": 1}, {"a": 1.0}, None, []) == []
    assert [d.change for d in diff({"a": "1000m"}, {"a": "1"}, None, [])] == ["changed"]


def test_drift_of_skips_server_metadata() -> None:
    declared = {"apiVersion": "x/v1", "kind": "K", "metadata": {"name": "n", "labels": {"a": "b"}},
                "spec": {}}
    live = {"apiVersion": "x/v1", "kind": "K", "status": {"x": 1},
            "metadata": {"name": "n", "labels": {"a": "b"}, "uid": "u", "resourceVersion": "5",
                         "managedFields": [{"manager": "argocd-controller", "operation": "Apply",
                                            "fieldsV1": {"f:metadata": {"f:labels": {"f:a": {}}},
                                                         "f:spec": {}}}]},
            "spec": {"d": 1}}
    assert [(d.dotted, d.change) for d in drift_of(declared, live)] == [("spec.d", "kept")]


def test_ignore_differences_json_pointers() -> None:
    obj = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r"}}
    drift = Drift(["spec", "rules", 0, "matches"], "added", [])
    rule = {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "jsonPointers": ["/spec/rules/0"]}
    assert drift.pointer == "/spec/rules/0/matches"
    assert ignored(drift, obj, [rule])
    assert not ignored(drift, obj, [{**rule, "name": "other"}])


def test_parse_cause_field() -> None:
    assert _parse_field("spec.rules[0].filters[1].type") == ["spec", "rules", 0, "filters", 1, "type"]
    assert _parse_field(".spec.parentRefs[0]") == ["spec", "parentRefs", 0]


def test_kubeconfig_round_trip_and_errors(tmp_path: Path) -> None:
    endpoint = Endpoint(server="https://127.0.0.1:6443", ca_pem=b"PEM", token="t0k")
    path = tmp_path / "kubeconfig"
    path.write_text(kubeconfig_text(endpoint))
    loaded = load_kubeconfig(path)
    assert (loaded.server, loaded.ca_pem, loaded.token) == ("https://127.0.0.1:6443", b"PEM", "t0k")
    path.write_text(kubeconfig_text(endpoint).replace(base64.b64encode(b"PEM").decode(), "not-base64!"))
    with pytest.raises(InfergateError, match="certificate-authority-data is not base64"):
        load_kubeconfig(path)
    path.write_text("apiVersion: v1\nkind: Config\ncurrent-context: x\ncontexts: []\n")
    with pytest.raises(InfergateError, match="no context named 'x'"):
        load_kubeconfig(path)
    with pytest.raises(InfergateError, match="unusable kubeconfig"):
        load_kubeconfig(tmp_path / "missing")


def test_build_recipe_replaces_every_staging_module() -> None:
    gomod = ("module k8s.io/kubernetes\n\nreplace (\n\tk8s.io/api => ./staging/src/k8s.io/api\n"
             "\tk8s.io/client-go => ./staging/src/k8s.io/client-go\n"
             "\tgithub.com/x/y => github.com/x/y v1.0.0\n)\n")
    staging = build.staging_modules(gomod)
    assert staging == ["k8s.io/api", "k8s.io/client-go"]
    text = build.go_mod_text(staging)
    assert f"k8s.io/api => k8s.io/api {pins.STAGING_VERSION}" in text
    assert f"k8s.io/kubernetes {pins.KUBERNETES_VERSION}" in text
    assert f"go.etcd.io/etcd/server/v3 {pins.ETCD_VERSION}" in text
    assert "v0." + pins.KUBERNETES_VERSION.split(".", 1)[1] == pins.STAGING_VERSION


def test_which_diff_shows_what() -> None:
    added, kept = Drift(["spec", "x"], "added", 1), Drift(["spec", "y"], "kept", 1)
    changed = Drift(["spec", "z"], "changed", "1", "1000m")
    assert added.shown(server_side_apply=True) and not added.shown(server_side_apply=False)
    assert not kept.shown(server_side_apply=True) and not kept.shown(server_side_apply=False)
    assert changed.shown(server_side_apply=True) and changed.shown(server_side_apply=False)
    assert "ServerSideApply=true" in added.message(server_side_apply=False)

"""Units of the validator: the YAML fast path agrees with the strict loader, CEL helpers, schema export."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema_rs
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from infergate.core import loader
from infergate.validate import cel as cel_mod
from infergate.validate import cel_library, crd_schema
from infergate.validate.export import export_schemas

TRICKY = [
    "a: on\nb: yes\n", "a: [y, n]\n", "on: 1\n", "a: 017\n", "a: 08\n", "a: 0o17\n", "a: 0b101\n",
    "a: 1_000\n",
    "a: 1e3\n", "a: 1:30\n", "a: .5\n", "a: .inf\n", "a: ~\n", "a: 2020-01-01\n", "1: x\n", "true: x\n",
    "null: x\n", "a: &x [1]\nb: *x\n", "a: !!str 1\n", "<<: {a: 1}\n", "? a\n: b\n", "- - a\n",
    "a: 'on'\n", 'a: "017"\n', "a: -1\nb: +1\nc: 0x1F\nd: 1.5\ne: 0\n", "a: |\n  x\n  y\nb: >\n  z\n",
    "a: {b: [1, 2, {c: d}]}\n", "a: 8000\nb: v1.0.0\nc: 10.0.0.1\n", "a: b: c\n", "a: 1\na: 2\n", "a: [\n",
    "a: 'x\n", "key with spaces: value # comment\n", "a: null\nb: Null\nc: TRUE\nd: False\n",
]


@pytest.mark.parametrize("source", TRICKY)
def test_fast_path_agrees_with_the_strict_loader(source: str) -> None:
    fast = loader._fast_load(source)
    if fast is loader._NOT_FAST:
        return  # the strict path handles it: nothing to compare
    strict = yaml.load(source, Loader=loader._StrictLoader)
    assert repr(fast) == repr(strict)


_TOKENS = ["on", "'on'", '"no"', "off", "y", "n", "yes", "No", "1", "-1", ".5", "0x1F", "true", "null", "~",
           "a", "b c", "v1", "8080-tcp", "-x", "--port=8000", "'1'", '"true"', "x: y"]


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from(_TOKENS), st.sampled_from(_TOKENS), st.sampled_from(
    ["{k}: {v}\n", "- {k}: {v}\n", "{k}: [{v}]\n", "{k}: {{{v}: {k}}}\n", "{k}:\n  - {v}\n",
     # block scalars holding what is risky outside them, and headers that only look like one
     "{k}: |\n  *{v} !x &y 0:1 - - z\n", "- |-\n  {v} <<: *a\n", "{k}: >\n  {v}\n\n  = 017\n",
     "{k}: {v} # |\n", "- {k}: |2\n    {v}\n  {k}: *b\n", "{k}: '|'\n  {v}: &c 1\n"])),
    min_size=1, max_size=4))
def test_fast_path_agrees_with_the_strict_loader_on_generated_documents(parts: list[tuple[str, str, str]]
                                                                       ) -> None:
    """Keys and values YAML 1.1 and 1.2 read differently, quoted and not, in block and flow shapes: the fast
    path either declines or gives what the strict loader gives."""
    source = "".join(shape.format(k=k, v=v) for k, v, shape in parts)
    try:
        strict = yaml.load(source, Loader=loader._StrictLoader)
    except yaml.YAMLError:
        return
    fast = loader._fast_load(source)
    if fast is not loader._NOT_FAST:
        assert repr(fast) == repr(strict), source


@settings(max_examples=2000, deadline=None, derandomize=True)
@given(st.text(alphabet="0123456789_eE: xé-\n", max_size=24))
def test_risky_number_walk_equals_the_regex(text: str) -> None:
    assert loader._has_risky_number(text) == bool(loader._RISKY_NUMBER.search(text))


def test_fast_path_agrees_with_the_strict_loader_on_the_repositorys_yaml() -> None:
    root = Path(__file__).resolve().parent.parent
    compared = 0
    for path in sorted([*root.glob("examples/*/dist/**/*.yaml"), *root.glob("tests/**/*.yaml")]):
        for _, source in loader._split_documents(path.read_text(encoding="utf-8", errors="replace")):
            fast = loader._fast_load(source)
            if fast is loader._NOT_FAST:
                continue
            assert repr(fast) == repr(yaml.load(source, Loader=loader._StrictLoader)), path
            compared += 1
    assert compared > 500


def test_fast_path_is_taken_for_ordinary_manifests() -> None:
    source = "apiVersion: v1\nkind: Service\nmetadata: {name: s, labels: {app: a}}\nspec:\n  ports:\n" \
             "  - {name: http, port: 8000, targetPort: http}\n"
    assert loader._fast_load(source) == yaml.load(source, Loader=loader._StrictLoader)


def test_url_library_follows_go_parse_request_uri() -> None:
    fns = cel_library.KUBERNETES_FUNCTIONS
    assert fns["isURL"]("https://example.com/x?y=1") and fns["isURL"]("/abs/path")
    assert not fns["isURL"]("example.com") and not fns["isURL"]("http://a b")
    assert fns["getScheme"]("HTTPS://h/") == "https"
    assert fns["getHostname"]("http://h:8080/x") == "h" and fns["getPort"]("http://h:8080/x") == "8080"


def _run(rule: dict, value: object) -> list[cel_mod.Violation]:
    evaluator = cel_mod.Evaluator()
    return evaluator.run({"x": value}, {"p": {"x": {"r": [rule]}}})


def test_rules_pass_fail_message_expression_and_field_path() -> None:
    assert _run({"rule": "self.size() < 3"}, "ab") == []
    (v,) = _run({"rule": "self.size() < 3", "message": "too long"}, "abcd")
    assert (v.path, v.message, v.error) == (("x",), "too long", True)
    (v,) = _run({"rule": "self.a > 1", "messageExpression": "'a is ' + string(self.a)",
                 "fieldPath": ".a", "reason": "FieldValueForbidden"}, {"a": 1})
    assert (v.path, v.message) == (("x", "a"), "FieldValueForbidden: a is 1")


def test_evaluator_takes_celfast_and_falls_back_to_cel_rust_on_errors() -> None:
    # size() of "éé": 2 code points (cel-go, celfast) but 4 UTF-8 bytes (cel-rust): only celfast passes it
    assert cel_mod.Compiler().compile({"rule": "self.size() <= 2"}).fast is not None
    assert _run({"rule": "self.size() <= 2"}, "éé") == []
    # a missing key is an error violation on both paths; another CEL error goes to cel-rust, which reports
    # what it cannot evaluate as "not evaluated" (info), exactly as without celfast
    (v,) = _run({"rule": "self.a > 1"}, {})
    assert (v.error, "no such key: a" in v.message) == (True, True)
    (v,) = _run({"rule": "self.a + 1 > 1"}, {"a": "text"})
    assert (v.error, v.message.startswith("rule not evaluated")) == (False, True)


def test_transition_rules_are_skipped_and_unsupported_functions_reported() -> None:
    evaluator = cel_mod.Evaluator()
    plan = {"p": {"x": {"r": [{"rule": "self == oldSelf"}, {"rule": "self.isSorted()"}]}}}
    (v,) = evaluator.run({"x": [1]}, plan)  # the unsupported one, as "not evaluated" (info) at its node
    assert (v.path, v.rule, v.error) == (("x",), "self.isSorted()", False)
    assert evaluator.transition_skipped == 1
    assert evaluator.unevaluated == {"self.isSorted()": "not evaluated: unsupported function(s) isSorted"}


def test_escaped_property_names_and_defaults() -> None:
    plan = {"d": {"group": ""}, "r": [{"rule": "has(self.__namespace__) && self.group == ''"}]}
    assert cel_mod.Evaluator().run({"namespace": "a"}, plan) == []
    assert len(cel_mod.Evaluator().run({}, plan)) == 1


def test_structural_conversion() -> None:
    node = {"type": "object", "properties": {
        "port": {"x-kubernetes-int-or-string": True},
        "opt": {"type": "string", "nullable": True, "enum": ["a"]},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "map": {"type": "object", "additionalProperties": {"type": "string"}},
        "emb": {"type": "object", "x-kubernetes-embedded-resource": True,
                "x-kubernetes-preserve-unknown-fields": True}}}
    schema = {**crd_schema.convert(node), "$defs": {
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {"type": "object"}}}
    validator = jsonschema_rs.validator_for(schema)
    assert validator.is_valid({"port": 80, "opt": None, "free": {"any": 1}, "map": {"k": "v"},
                               "emb": {"apiVersion": "v1", "kind": "Pod", "spec": {}}})
    assert validator.is_valid({"port": "http"})
    assert not validator.is_valid({"port": 1.5})
    assert not validator.is_valid({"unknown": 1})
    assert not validator.is_valid({"opt": "b"})
    assert not validator.is_valid({"emb": {"kind": "Pod"}})  # embedded resources need apiVersion


def test_schemas_export_layout(tmp_path: Path) -> None:
    lines = export_schemas(tmp_path)
    assert lines[-1].startswith("wrote ")
    pool_file = tmp_path / "inference.networking.x-k8s.io" / "inferencepool_v1alpha2.json"
    pool = json.loads(pool_file.read_text())
    llmisvc = tmp_path / "serving.kserve.io" / "llminferenceservice_v1alpha1.json"
    assert llmisvc.exists() and (tmp_path / "gateway.networking.k8s.io" / "httproute_v1beta1.json").exists()
    validator = jsonschema_rs.validator_for(pool)
    good = {"apiVersion": "inference.networking.x-k8s.io/v1alpha2", "kind": "InferencePool",
            "metadata": {"name": "p"}, "spec": {"selector": {"a": "b"}, "targetPortNumber": 8000,
                                                "extensionRef": {"name": "epp"}}}
    assert validator.is_valid(good)
    assert not validator.is_valid({**good, "spec": {**good["spec"], "targetPortNumber": 70000}})


def test_package_version_matches_importlib_metadata() -> None:
    from importlib import metadata

    from infergate.validate import core_schema

    assert core_schema.package_version() == metadata.version("kubernetes-validate")


def test_string_formats_follow_the_api_servers_sloppy_parser() -> None:
    from infergate.validate import formats

    assert formats.is_ipv4("34.7.208.8") and formats.is_ipv4("010.001.1.1")  # leading zeros: decimal
    assert not formats.is_ipv4("$(VAR)") and not formats.is_ipv4("1.2.3") and not formats.is_ipv4("256.1.1.1")
    assert formats.is_ipv6("fd00::1") and not formats.is_ipv6("fe80::1%eth0")  # no zones
    assert formats.is_ipv4("::ffff:1.2.3.4") and formats.is_ipv6("::ffff:1.2.3.4")  # has '.' and ':'
    assert formats.is_cidr("10.0.0.0/8") and formats.is_cidr("fd00::/64") and formats.is_cidr("10.0.0.0/08")
    assert not formats.is_cidr("10.0.0.0") and not formats.is_cidr("10.0.0.0/33")


def test_gateway_address_value_is_checked_inside_one_of(tmp_path: Path) -> None:
    """Gateway API types addresses[].value as anyOf ipv4|ipv6 inside a oneOf on `type`: the server rejects
    a non-IP value of type IPAddress (found by the differential mutations)."""
    from infergate.validate.run import validate_paths

    gw = tmp_path / "gw.yaml"
    text = ("apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g, namespace: n}\n"
            "spec:\n  gatewayClassName: istio\n  listeners: [{name: http, port: 80, protocol: HTTP}]\n"
            "  addresses: [{value: VALUE}]\n")
    gw.write_text(text.replace("VALUE", "'$(VAR)'"))
    bad, _ = validate_paths([gw])
    gw.write_text(text.replace("VALUE", "34.7.208.8"))
    good, _ = validate_paths([gw])
    assert [f.code for f in bad if f.severity.value == "error"] and not [
        f for f in good if f.severity.value == "error"]

"""Two trust domains: a public issuer (here Let's Encrypt) for the listener, the internal CA for everything
inside the cluster. The three broken forms of an ACME listener fire one PKI rule each; the generated ACME
environment fires none and has every in-cluster certificate from the internal CA."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from infergate.lint import lint_paths
from infergate.lint.config import LintConfig
from tests.conftest import EXAMPLES, FIXTURE_ENVS, REPO, make_project, requires_examples, run_infergate

FIXTURES = REPO / "tests" / "fixtures" / "lint" / "pki"
ACME_DIST = EXAMPLES / "upstream-2026" / "dist" / "acme"


@pytest.mark.parametrize(("fixture", "code", "count"), [
    ("acme-common-name.yaml", "PKI802", 1),  # commonName = the in-cluster name, not in dnsNames
    ("acme-epp-certificate.yaml", "PKI801", 3),  # the EPP's *.svc names sent to Let's Encrypt
    ("acme-trust-bundle.yaml", "PKI803", 2),  # ca.crt of the ACME secret: the volume and the rule trusting it
])
def test_each_broken_form_fires_its_rule_only(fixture: str, code: str, count: int) -> None:
    findings, _ = lint_paths([FIXTURES / fixture], config=LintConfig())
    assert [f.code for f in findings] == [code] * count, [f"{f.code} {f.message}" for f in findings]


def _objects(root: Path) -> list[dict[str, Any]]:
    return [doc for p in sorted(root.rglob("*.yaml")) for doc in yaml.safe_load_all(p.read_text()) if doc]


def _one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return found


@requires_examples
def test_acme_environment_keeps_in_cluster_tls_on_the_internal_ca() -> None:
    objects = _objects(ACME_DIST)
    listener = _one(objects, "Certificate", "inference-gateway-tls")["spec"]
    assert listener["issuerRef"]["name"] == "letsencrypt-prod"
    assert listener["commonName"] in listener["dnsNames"] == ["inference.example.com"]
    assert "ipAddresses" not in listener
    internal = {c["metadata"]["name"]: c["spec"]["issuerRef"]["name"] for c in objects
                if c["kind"] == "Certificate" and c["metadata"]["name"] != "inference-gateway-tls"}
    assert internal.pop("opendatahub-ca") == "opendatahub-selfsigned-issuer"  # the chain's root
    assert set(internal) == {"llama-8b-epp-tls", "llama-8b-vllm-tls", "inference-gateway-upstream-trust"}
    assert set(internal.values()) == {"opendatahub-ca-issuer"}
    # the gateway pods trust ca.crt of the internal certificate, never of the ACME listener secret
    params = yaml.safe_load(_one(objects, "ConfigMap", "inference-gateway-config")["data"]["deployment"])
    (volume,) = params["spec"]["template"]["spec"]["volumes"]
    assert volume["secret"] == {"secretName": "inference-gateway-upstream-trust",
                                "items": [{"key": "ca.crt", "path": "ca.crt"}]}
    assert listener["secretName"] != volume["secret"]["secretName"]


@requires_examples
def test_acme_environment_lints_clean() -> None:
    result = run_infergate("lint", str(ACME_DIST))
    assert result.returncode == 0, result.stdout
    assert "0 errors, 0 warnings, 0 infos" in result.stdout


PATTERN1 = (FIXTURE_ENVS / "pattern1.yaml").read_text(encoding="utf-8")
ACME = PATTERN1.replace(
    "      kind: ClusterIssuer\n      name: opendatahub-ca-issuer\n      createCAChain: true",
    "      kind: ClusterIssuer\n      name: letsencrypt-prod\n      acme: true")


def _synth(tmp_path: Path, text: str) -> tuple[int, str]:
    root = make_project(tmp_path / "p", {"acme": text})
    result = run_infergate("synth", cwd=root)
    return result.returncode, result.stdout + result.stderr


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_acme_with_cluster_local_dns_names_is_a_config_error(tmp_path: Path) -> None:
    assert "acme: true" in ACME
    code, out = _synth(tmp_path, ACME)  # pattern1 lists its in-cluster names as dnsNames
    assert code == 2 and len(out.strip().splitlines()) == 1, out
    line = _line(ACME, "- inference-gateway.opendatahub.svc.cluster.local")
    assert f"acme.yaml:{line}: gateway.tls.dnsNames[0]: inference-gateway.opendatahub.svc.cluster.local " \
           "is a cluster-local name" in out


def test_common_name_outside_dns_names_is_a_config_error(tmp_path: Path) -> None:
    text = PATTERN1.replace("    certificateName: inference-gateway-tls\n",
                            "    certificateName: inference-gateway-tls\n    commonName: api.example.com\n")
    code, out = _synth(tmp_path, text)
    line = _line(text, "commonName: api.example.com")
    assert code == 2 and f"acme.yaml:{line}: gateway.tls.commonName" in out


def test_an_acme_internal_ca_is_refused(tmp_path: Path) -> None:
    text = PATTERN1.replace("      createCAChain: true", "      createCAChain: false") \
        + "pki:\n  issuer: {name: letsencrypt-prod, acme: true}\n"
    code, out = _synth(tmp_path, text)
    assert code == 2 and f"acme.yaml:{_line(text, 'acme: true')}: pki.issuer.acme" in out


def test_acme_listener_with_public_names_synthesizes_both_domains(tmp_path: Path) -> None:
    text = ACME.replace("      - inference-gateway.opendatahub.svc.cluster.local\n"
                        "      - \"*.llm-d-inference-scheduling.svc.cluster.local\"\n",
                        "      - inference.example.com\n")
    text = text.replace("      secureServing: false", "      secureServing: true")
    code, out = _synth(tmp_path, text)
    assert code == 0, out
    dist = tmp_path / "p" / "dist" / "acme"
    objects = _objects(dist)
    listener = _one(objects, "Certificate", "inference-gateway-tls")["spec"]
    assert listener["commonName"] == "inference.example.com"
    assert _one(objects, "Certificate", "qwen2-3b-pattern1-epp-tls")["spec"]["issuerRef"]["name"] \
        == "opendatahub-ca-issuer"  # the default internal chain, created for the ACME environment
    assert (dist / "pki" / "ClusterIssuer.opendatahub-ca-issuer.yaml").is_file()
    findings, _ = lint_paths([dist])
    assert [f for f in findings if f.code.startswith("PKI")] == []

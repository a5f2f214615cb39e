"""The security model file: what it promises, and clear errors when it is edited wrongly."""

from __future__ import annotations

import pytest

from infergate.core.errors import ConfigError
from infergate.netpol.security_model import parse_model, security_model


def test_shipped_model_has_the_issue_flows() -> None:
    model = security_model()
    required = {(s.id, s.sources, s.to, s.ports) for s in model.required}
    assert ("gateway-to-model-server", ("gateway",), "model-server", ((8000, "TCP"),)) in required
    assert ("gateway-to-epp-grpc", ("gateway",), "epp", ((9002, "TCP"),)) in required
    assert ("epp-to-model-server-metrics", ("epp",), "model-server", ((8000, "TCP"),)) in required
    assert ("epp-to-api-server", ("epp",), "api-server", ("*",)) in required
    dns = next(s for s in model.required if s.id == "pods-to-dns")
    assert set(dns.ports) == {(53, "UDP"), (53, "TCP")}
    assert {"gateway", "epp", "model-server"} <= set(dns.sources)
    download = next(s for s in model.required if s.id == "model-server-to-model-download")
    assert download.when == "model-uri-needs-network"
    forbidden = {s.id: s for s in model.forbidden}
    assert "gateway" not in forbidden["model-server-port-from-others"].sources
    assert "epp" not in forbidden["model-server-port-from-others"].sources
    assert {"any-pod", "model-server", "internet"} <= set(forbidden["model-server-port-from-others"].sources)
    assert forbidden["model-server-to-model-server"].sources == ("model-server",)
    assert set(forbidden["epp-grpc-from-others"].sources) >= {"epp", "model-server", "any-pod", "other"}
    assert "gateway" not in forbidden["epp-grpc-from-others"].sources
    assert all(s.why for s in (*model.required, *model.forbidden))


@pytest.mark.parametrize(("data", "message"), [
    ({"required": [{"id": "x", "from": ["gatway"], "to": "epp"}]}, "unknown role 'gatway'"),
    ({"required": [{"id": "x", "from": ["gateway"], "to": "epp", "ports": ["9002"]}]}, "is not PROTO/NUMBER"),
    ({"required": [{"from": ["gateway"], "to": "epp"}]}, "needs an id"),
    ({"forbidden": [{"id": "x", "from": [], "to": "epp"}]}, "needs a list of roles"),
    ({"required": [{"id": "x", "from": ["gateway"], "to": "epp", "match": "some"}]}, "match is all|any"),
    ({"required": [{"id": "x", "from": ["gateway"], "to": "epp", "when": "sunny"}]}, "unknown scope or when"),
    ([], "is a mapping"),
])
def test_model_errors_are_config_errors(data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_model(data)

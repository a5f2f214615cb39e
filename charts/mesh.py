"""Istio through the sail-operator: the `Istio` control plane (+ `IstioCNI` where the platform needs it)."""

from __future__ import annotations

from constructs import Construct
from infergate.charts.common import Chart, labels
from infergate.charts.resources import Istio, IstioCNI, IstioCNISpec, IstioSpec

from infergate.synth.config import Environment


class MeshChart(Chart):
    WAVE = -1  # after sail-operator (-3); istiod before the Gateway it programs

    def __init__(self, scope: Construct, folder: str, env: Environment) -> None:
        super().__init__(scope, folder, wave=self.WAVE, destination_namespace=env.mesh.namespace)
        mesh = env.mesh
        spec: IstioSpec = {
            "version": mesh.version,
            "namespace": mesh.namespace,
            # sail-operator's default, written out so the stored object equals the manifest (infergate verify)
            "updateStrategy": {"type": "InPlace"},
            "values": {
                # istiod only programs InferencePool backends with this flag
                "pilot": {"env": dict(sorted(mesh.pilot_env.items()))},
                "meshConfig": {
                    "accessLogFile": mesh.access_log_file,
                    "defaultConfig": {"proxyMetadata": {"ENABLE_GATEWAY_API_INFERENCE_EXTENSION": "true"}},
                },
            },
        }
        Istio(self, "default", labels=labels("istio", "control-plane", "infergate"), spec=spec)
        if mesh.cni_enabled:
            # GKE keeps CNI binaries outside the default /opt/cni/bin
            cni: IstioCNISpec = {"version": mesh.version, "namespace": mesh.cni_namespace,
                                 "values": {"cni": {"cniBinDir": mesh.cni_bin_dir,
                                                    "cniConfDir": mesh.cni_conf_dir}}}
            IstioCNI(self, "default", labels=labels("istio-cni", "cni", "infergate"), spec=cni)

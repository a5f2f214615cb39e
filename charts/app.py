"""Build one cdk8s App per environment and synthesize it into its own folder."""

from __future__ import annotations

from pathlib import Path

import cdk8s

from charts.namespaces import NamespacesChart
from infergate.config import Environment


def synth_environment(env: Environment, outdir: Path) -> None:
    app = cdk8s.App(outdir=str(outdir), output_file_extension=".yaml",
                    yaml_output_type=cdk8s.YamlOutputType.FOLDER_PER_CHART_FILE_PER_RESOURCE)
    NamespacesChart(app, "namespaces", env)
    app.synth()

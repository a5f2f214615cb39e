"""cdk8s app of this infergate project: `cdk8s synth` (cdk8s.yaml) runs it and writes what `infergate synth`
writes. The work is in infergate; this file only says where the project is."""

from pathlib import Path

from infergate.synth.run import run_cdk8s_app

if __name__ == "__main__":
    run_cdk8s_app(Path(__file__).resolve().parent)

"""cdk8s app entry point (`cdk8s synth` runs this): wiring only, the work is in infergate.synth."""

from infergate.synth.run import main_for_cdk8s

if __name__ == "__main__":
    main_for_cdk8s()

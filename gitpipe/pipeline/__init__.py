"""Layer 4, the pipeline as declared and recorded: gitpipe.yaml and its model,
params, partitions, the graph of tasks and its drawings, the lockfile, the
config, and the registry of executors by name.
May import the layers below.
"""

LAYER = 4

"""Layer 4, the pipeline as declared and recorded: gitpipe.yaml and its model,
params, partitions, the graph of tasks, the lockfile and the config.
May import the layers below.
"""

LAYER = 4

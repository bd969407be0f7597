"""Layer 4, what the project declares and records: gitpipe.yaml and its model,
params, partitions, the graph of tasks, the lockfile and the config.
May import the layers below.
"""

LAYER = 4

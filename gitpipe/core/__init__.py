"""Layer 0, the base every other layer stands on: errors, YAML with line numbers,
outcomes, a small DAG, runs of partitions and cuts of long lists, and walks and
removals that never follow a symlink.
Imports nothing else of gitpipe.
"""

LAYER = 0

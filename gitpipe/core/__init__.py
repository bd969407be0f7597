"""Layer 0, the base every other layer stands on: errors, YAML with line numbers,
outcomes, a small DAG, runs of partitions and cuts of long lists, walks and
removals that never follow a symlink, and the distribution name that install
hints give.
Imports nothing else of gitpipe.
"""

LAYER = 0

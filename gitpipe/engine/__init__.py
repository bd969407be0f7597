"""Layer 8, running a pipeline: the scheduler, the run-cache in use, the
runner, repro and backfill. May import the layers below.
"""

LAYER = 8

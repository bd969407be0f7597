"""Layer 7, where commands run: the executor seam, the local executor and
the Kubernetes one. May import the layers below.
"""

LAYER = 7

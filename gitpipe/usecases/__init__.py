"""Layer 9, the other things a user asks for: commit, hooks, revisions,
watch, transfer, gc, and the importable `gitpipe.Project`. May import the
layers below.
"""

LAYER = 9

"""Layer 10, the no-op fast path: which command lines a seal may answer,
the seal itself, the engine's answer without click, and the text both
print. May import the layers below.
"""

LAYER = 10

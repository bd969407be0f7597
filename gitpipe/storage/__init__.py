"""Layer 5, where bytes live: the content cache, remotes (fsspec), the stat
cache and the work tree as hashed, run logs. May import the layers below.
"""

LAYER = 5

"""Layer 3, the trust boundary: every record, path and `.gitpipe/` part that
came from git or a remote is checked here before use. May import the
layers below (`core`, `hashing`, `git`).
"""

LAYER = 3

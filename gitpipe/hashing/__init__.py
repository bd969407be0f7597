"""Layer 1, content identity: digests and manifests, stat signatures,
`.gitpipeignore` rules, the first scan of a directory, and a stage's
fingerprint. May import `core`.
"""

LAYER = 1

"""Layer 2, git: the repository through pygit2, and git's own plumbing where
libgit2 cannot read the index. May import `core` and `hashing`.
"""

LAYER = 2

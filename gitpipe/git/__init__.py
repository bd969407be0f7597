"""Layer 2, git: the repository through pygit2, a commit read without a
checkout, and git's own command line for what libgit2 cannot do. May import
`core` and `hashing`.
"""

LAYER = 2

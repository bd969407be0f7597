"""Layer 6, the project as it stands and the judgement of it: the loaded
Project, staleness, status and the lock's outs a checkout may write.
May import the layers below.
"""

LAYER = 6

"""Layer 11, the command line: click commands, exit codes, printing, and the
console script's entry point. The only layer that prints or uses click.
May import every layer below.
"""

LAYER = 11

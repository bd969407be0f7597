"""DVC's commands that gitpipe names otherwise or has no equivalent of: what a
DVC user who types one is told instead of click's bare "No such command"
(docs/howto/dvc.md holds the whole table)."""

from __future__ import annotations

GUIDE = "docs/howto/dvc.md"

INSTEAD = {
    "exp": "gitpipe has no experiments: run each on a branch, then compare with "
           "'gitpipe params diff A B' and 'gitpipe metrics show A B'",
    "plots": "gitpipe has no plots: 'gitpipe report' writes one HTML page with the graph, "
             "the last run and the metrics of recent commits",
    "add": "gitpipe tracks no data by hand: commit small data to git, or make it the out "
           "of a stage that fetches it",
    "stage": "gitpipe has no 'stage add': write the stage in gitpipe.yaml",
    "install": "the git hooks are 'gitpipe hooks install'",
    "freeze": "freeze a stage with 'frozen: true' in gitpipe.yaml",
    "unfreeze": "unfreeze a stage by removing 'frozen: true' from gitpipe.yaml",
    "destroy": "gitpipe's own files are gitpipe.yaml, gitpipe.lock and .gitpipe/",
}


def instead(name: str) -> str | None:
    """The hint for DVC's command `name`, or None when it is not one of them."""
    said = INSTEAD.get(name)
    return f"hint: {said} ({GUIDE})" if said else None

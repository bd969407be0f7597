"""DVC's commands and options that gitpipe names otherwise or has no equivalent
of: what a DVC user who types one is told instead of click's bare "No such
command" or "No such option" (docs/howto/dvc.md holds the whole table)."""

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
    "move": "gitpipe has no 'move': change the out's path in gitpipe.yaml and in the command "
            "that writes it, then 'gitpipe repro'",
    "unprotect": "gitpipe has no 'unprotect': outs are copies (cache.type reflink or copy) to "
                 "edit as they are; with hardlink or symlink, replace a file rather than "
                 "write into it",
    "get": "gitpipe has no 'get': clone the repository, then 'gitpipe pull PATH' of the out",
    "import-url": "gitpipe has no 'import-url': a stage whose command downloads the file, "
                  "with the file as its out, does it",
    "run": "'dvc run' is 'dvc stage add' then 'dvc repro': write the stage in gitpipe.yaml, "
           "then 'gitpipe repro' ('gitpipe runs' lists past runs)",
    "destroy": "gitpipe's own files are gitpipe.yaml, gitpipe.lock and .gitpipe/",
    "version": "'gitpipe --version' prints the version",
    "doctor": "'gitpipe --version' prints the version; 'gitpipe validate' checks gitpipe.yaml, "
              "the params files, the config and the DAG",
    "config": "remotes are set with 'gitpipe remote add/modify/default'; other settings are "
              "edited in .gitpipe/config.yaml (committed) or .gitpipe/config.local.yaml "
              "(this clone's)",
    "cache": "the local cache is .gitpipe/cache/: 'gitpipe gc' trims it, 'gitpipe fsck' "
             "checks it",
    "root": "gitpipe runs from any folder of the repository; 'git rev-parse --show-toplevel' "
            "names its root",
}


_REVISIONS = "'gitpipe metrics show' takes revisions instead: 'gitpipe metrics show main exp1'"
_PUSH_SCOPE = ("gitpipe moves what the checked-out gitpipe.lock names: check out each "
               "branch or commit and run it there")

# (command, option) -> what to do instead.
OPTION_INSTEAD = {
    **{("gc", flag): "'gitpipe gc --remote NAME' collects on a remote (with a scope: "
       "-w, -a, -T, -A or --rev)" for flag in ("-c", "--cloud")},
    **{("gc", flag): "'gitpipe gc -y' (--yes) deletes without asking"
       for flag in ("-f", "--force")},
    **{("metrics show", flag): _REVISIONS
       for flag in ("-a", "--all-branches", "-T", "--all-tags", "-A", "--all-commits")},
    **{(command, flag): _PUSH_SCOPE for command in ("push", "pull", "fetch")
       for flag in ("-a", "--all-branches", "-T", "--all-tags", "-A", "--all-commits")},
    **{(command, "--md"): "there is no markdown table; --json gives the values"
       for command in ("params diff", "metrics diff", "metrics show")},
    ("metrics show", "--targets"): "name the metrics file among the arguments: 'gitpipe "
    "metrics show eval/metrics.json' (with revisions: 'gitpipe metrics show main "
    "eval/metrics.json')",
    ("dag", "--md"): "'gitpipe dag --format mermaid' prints the graph as mermaid (put it "
    "in a ```mermaid block)",
    ("dag", "--dot"): "'gitpipe dag --format dot'",
    ("dag", "--mermaid"): "'gitpipe dag --format mermaid'",
    **{("repro", flag): "targets are stages (STAGE or STAGE@KEY); with none, "
       "'gitpipe repro' considers every stage"
       for flag in ("-R", "--recursive", "-p", "--pipeline", "-P", "--all-pipelines")},
}


def instead(name: str) -> str | None:
    """The hint for DVC's command `name`, or None when it is not one of them."""
    said = INSTEAD.get(name)
    return f"hint: {said} ({GUIDE})" if said else None


def option_instead(command: str, option: str) -> str | None:
    """The hint for DVC's option `option` of `command` (`metrics show`), or None."""
    said = OPTION_INSTEAD.get((command, option))
    return f"hint: {said} ({GUIDE})" if said else None

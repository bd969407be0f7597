"""What `gc --remote --yes` may delete from without asking.

`--yes` stands for the user's answer to "delete these from this remote?",
and the answer is about the remote's URL. A URL that only the committed
`.gitpipe/config.yaml` sets is a clone's choice: a pull request may point
it at another project's folder or bucket prefix, where everything no lock of
this clone names is garbage to gc. So `--yes` deletes only from a remote
whose URL the user's own `config.local.yaml` sets; a committed one is
confirmed on a terminal, where the question names its URL. A storage option
the committed file sets beside the user's URL (`endpoint_url`, `profile`)
chooses where that URL leads as much as the URL does: `--yes` refuses it too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gitpipe.core.errors import BadInputError
from gitpipe.pipeline.config import LOCAL_CONFIG_FILE, remote_settings

if TYPE_CHECKING:
    from gitpipe.project.root import Project
    from gitpipe.usecases.garbage import Confirm, GcPlan


def committed_url(project: Project, name: str | None) -> str | None:
    """The URL of the remote `name` (the default one for None) where only the
    committed config sets it, else None (the user's config.local.yaml does)."""
    settings = remote_settings(project.config, name)
    return None if settings.name in project.config.local_remotes else settings.url


def without_asking(project: Project, name: str | None) -> Confirm | None:
    """What `--yes` answers for the remote `name`: None (go ahead) where the
    user's config.local.yaml sets its URL, else a refusal naming the URL."""
    url = committed_url(project, name)
    settings = remote_settings(project.config, name)
    if url is None:
        return _refuse_committed_options(project, settings.name)

    def refuse(plan: GcPlan) -> bool:
        raise BadInputError(
            f"{_opening(plan)}, whose URL comes from the committed "
            f"{settings.source}: --yes deletes only from a remote whose URL your "
            f"own .gitpipe/{LOCAL_CONFIG_FILE} sets (a clone's config may name another "
            "project's storage); nothing was deleted",
            hint=f"check the URL, then confirm on a terminal (without --yes), or set it as "
                 f"yours: gitpipe remote modify --local {settings.name} url URL")

    return refuse


def _refuse_committed_options(project: Project, name: str) -> Confirm | None:
    """None where config.local.yaml sets every storage option of the remote
    `name` too, else a refusal naming the options the committed file sets."""
    options = sorted(option for remote, option in project.config.committed_options
                     if remote == name)
    if not options:
        return None

    def refuse(plan: GcPlan) -> bool:
        raise BadInputError(
            f"{_opening(plan)}, whose URL your own .gitpipe/"
            f"{LOCAL_CONFIG_FILE} sets but whose {', '.join(options)} comes from the "
            "committed .gitpipe/config.yaml (it chooses where that URL leads): --yes "
            "deletes only where your own config says; nothing was deleted",
            hint=f"check it, then confirm on a terminal (without --yes), or set it as yours: "
                 f"gitpipe remote modify --local {name} {options[0]} VALUE")

    return refuse


def _opening(plan: GcPlan) -> str:
    """How a refusal begins: what gc would have deleted, or that there is
    nothing now (it refuses all the same, so a CI job fails from its first
    run rather than on the day garbage appears)."""
    if not plan.empty:
        return f"gc would delete from {plan.where}"
    return f"gc has nothing to delete from {plan.where} now, but --yes refuses every time there"

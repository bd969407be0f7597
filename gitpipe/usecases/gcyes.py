"""What `gc --remote --yes` may delete from without asking.

`--yes` stands for the user's answer to "delete these from this remote?",
and the answer is about the remote's URL. A URL that only the committed
`.gitpipe/config.yaml` sets is a clone's choice: a pull request may point
it at another project's folder or bucket prefix, where everything no lock of
this clone names is garbage to gc. So `--yes` deletes only from a remote
whose URL the user's own `config.local.yaml` sets; a committed one is
confirmed on a terminal, where the question names its URL.
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
    if url is None:
        return None
    settings = remote_settings(project.config, name)

    def refuse(plan: GcPlan) -> bool:
        raise BadInputError(
            f"gc would delete from {plan.where}, whose URL comes from the committed "
            f"{settings.source}: --yes deletes only from a remote whose URL your "
            f"own .gitpipe/{LOCAL_CONFIG_FILE} sets (a clone's config may name another "
            "project's storage); nothing was deleted",
            hint=f"check the URL, then confirm on a terminal (without --yes), or set it as "
                 f"yours: gitpipe remote modify --local {settings.name} url URL")

    return refuse

"""What a newcomer who knows DVC, git and Airflow meets in a small pipeline of
their own (partitions, a foreach over a list of mappings, params, metrics, a
folder remote): through the real CLI, in real git repositories."""

from __future__ import annotations

import pytest

from tests.conftest import Repo

PLAIN = "stages:\n  train:\n    cmd: echo x > model.txt\n    outs: [model.txt]\n"


@pytest.mark.parametrize(("spec", "said"), [
    (PLAIN + "plots:\n  - model.txt\n",
     "error: gitpipe.yaml:5: unknown top-level key 'plots' (gitpipe has no plots: list a "
     "stage's numbers under its 'metrics:' ('gitpipe metrics show' and 'gitpipe report' "
     "show them); see docs/howto/dvc.md)"),
    (PLAIN + "    plots: [loss.csv]\n",
     "error: gitpipe.yaml:5: stage 'train': unknown field 'plots' (gitpipe has no plots: "
     "list the file under 'metrics:' ('gitpipe metrics show' and 'gitpipe report' show its "
     "numbers) or under 'outs:'; see docs/howto/dvc.md)"),
    (PLAIN + "metrics:\n  - scores.json\n",
     "error: gitpipe.yaml:5: unknown top-level key 'metrics' (metrics files are listed under "
     "each stage's 'metrics:'; see docs/howto/dvc.md)"),
])
def test_dvc_s_plots_and_top_level_keys_say_what_gitpipe_does_instead(
        repo: Repo, spec: str, said: str) -> None:
    repo.gen({"gitpipe.yaml": spec})
    done = repo.run("validate")
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[0] == said
    assert "did you mean" not in done.stderr

"""A change of a param's or a metric's value that the tables read as none.

The tables write a value as its file does (`show`): the string "0.01" and
the number 0.01 both read `0.01`, `"true"` and true both `true`, and "x "
(a trailing space) reads `x` at the end of a line, the string "-" as a
revision without the key. A pull request that
turns `lr: 0.01` into `lr: "0.01"` changes what the code gets (a string),
and `params diff` showed `lr 0.01 -> 0.01`; `metrics show A B` put two equal
cells over a changed metric, as the twelve-digit rounding once did. Where
two differing values would read alike, each is shown as JSON writes it
(strings quoted)."""

from __future__ import annotations

from typing import Any

from tests.conftest import Repo


def _lines(output: str) -> list[str]:
    return [" ".join(line.split()) for line in output.splitlines()]


def _two_commits(repo: Repo, first: str, second: str, params: tuple[str, str]) -> None:
    repo.gen({"params.yaml": params[0], "scores.yaml": first, ".gitignore": ""})
    repo.spec({"train": {"cmd": "true", "params": ["lr"], "metrics": ["scores.yaml"]}})
    repo.run("init", check=True)
    repo.git("add", "-f", "scores.yaml")  # the metrics file in git, as a small one may be
    repo.commit("one")
    repo.gen({"params.yaml": params[1], "scores.yaml": second})
    repo.git("add", "-f", "scores.yaml")
    repo.commit("two")


def test_a_value_that_changed_its_type_or_spaces_reads_as_a_change(repo: Repo) -> None:
    _two_commits(repo, "auc: 0.91\nok: true\nname: x\nsteps: 3\n",
                 'auc: "0.91"\nok: "true"\nname: "x "\nsteps: 3\ntag: "-"\n',
                 ("lr: 0.01\n", 'lr: "0.01"\n'))
    said: dict[str, Any] = {}
    for args in (("metrics", "show", "HEAD~1", "HEAD"), ("metrics", "diff", "HEAD~1", "HEAD"),
                 ("params", "diff", "HEAD~1", "HEAD")):
        done = repo.run(*args)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        said[args[0] + " " + args[1]] = _lines(done.stdout)
    assert said["metrics show"][1:] == [
        'scores.yaml:auc 0.91 "0.91"', 'scores.yaml:name "x" "x "',
        'scores.yaml:ok true "true"', "scores.yaml:steps 3 3",
        'scores.yaml:tag - "-"'], said
    assert said["metrics diff"][1:] == [
        'scores.yaml:auc 0.91 -> "0.91"', 'scores.yaml:name "x" -> "x "',
        'scores.yaml:ok true -> "true"',
        'scores.yaml:tag - -> "-" (added)'], said
    assert said["params diff"][1:] == ['lr 0.01 -> "0.01"'], said

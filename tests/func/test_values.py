"""Values, not digests: `params diff`, `metrics show` and `metrics diff` on real
git repositories, with 0, 1 and 2 revisions, `--json`, and metrics files that
are missing, broken, or only in the cache."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from tests.conftest import Repo

PARAMS = {"train": {"lr": 0.01, "epochs": 10}, "seed": 1, "unused": "x"}


def params_repo(repo: Repo) -> Repo:
    """Two commits (lr 0.01, then 0.02) and epochs 10 -> 12 in the work tree."""
    repo.gen({"params.yaml": PARAMS})
    repo.spec({"fit": {"cmd": "true", "params": ["train", "seed"]}})
    repo.run("init", check=True)
    repo.commit("first")
    repo.gen({"params.yaml": {**PARAMS, "train": {"lr": 0.02, "epochs": 10}}}, commit="lr")
    repo.gen({"params.yaml": {**PARAMS, "train": {"lr": 0.02, "epochs": 12}}})
    return repo


def lines(output: str) -> list[str]:
    return [" ".join(line.split()) for line in output.splitlines()]


def rows(output: str) -> list[str]:
    """A diff's rows, below the header that names its sides."""
    header, *found = lines(output)
    assert header.split()[0] in ("param", "metric") and " -> " in header, output
    return found


@pytest.mark.parametrize(("command", "header"), [
    (("params", "diff"), "param HEAD -> workspace change"),
    (("params", "diff", "HEAD~1", "HEAD"), "param HEAD~1 -> HEAD change"),
    (("metrics", "diff", "HEAD~1"), "metric HEAD~1 -> workspace change"),
])
def test_a_diff_has_a_header_naming_its_two_sides(repo: Repo, command: tuple[str, ...],
                                                  header: str) -> None:
    # As DVC's: which revision is the old side is said, not left to the reader.
    found = (params_repo if command[0] == "params" else metrics_repo)(repo)
    done = found.cli(*command)
    assert done.exit_code == 0, done.output
    assert lines(done.stdout)[0] == header, done.stdout


def test_params_diff_without_a_revision_is_head_against_the_work_tree(repo: Repo) -> None:
    result = params_repo(repo).cli("params", "diff")
    assert result.exit_code == 0, result.output
    assert rows(result.stdout) == ["train.epochs 10 -> 12 (+2)"]


def test_params_diff_with_one_revision_is_that_revision_against_the_work_tree(
        repo: Repo) -> None:
    result = params_repo(repo).cli("params", "diff", "HEAD~1")
    assert rows(result.stdout) == ["train.epochs 10 -> 12 (+2)", "train.lr 0.01 -> 0.02 (+0.01)"]


def test_params_diff_between_two_revisions(repo: Repo) -> None:
    params_repo(repo)
    assert rows(repo.cli("params", "diff", "HEAD~1", "HEAD").stdout) == \
        ["train.lr 0.01 -> 0.02 (+0.01)"]
    assert repo.cli("params", "diff", "HEAD", "HEAD").stdout.strip() == \
        "no params differ between HEAD and HEAD"


def test_params_diff_all_shows_the_unchanged_params_the_stages_use(repo: Repo) -> None:
    result = params_repo(repo).cli("params", "diff", "--all")
    assert rows(result.stdout) == ["seed 1 -> 1", "train.epochs 10 -> 12 (+2)",
                                    "train.lr 0.02 -> 0.02"]  # `unused`: no stage reads it


def test_params_diff_json_is_grouped_by_file(repo: Repo) -> None:
    result = params_repo(repo).cli("params", "diff", "HEAD~1", "--json")
    assert json.loads(result.stdout) == {"params.yaml": {
        "train.epochs": {"old": 10, "new": 12, "diff": 2},
        "train.lr": {"old": 0.01, "new": 0.02, "diff": 0.01}}}


def test_params_a_stage_starts_or_stops_using_are_added_or_removed(repo: Repo) -> None:
    params_repo(repo).commit("epochs")
    repo.gen({"conf/model.yaml": {"depth": 3, "act": "relu", "flags": [1, 2]}})
    repo.spec({"fit": {"cmd": "true", "params": ["train",
                                                 {"conf/model.yaml": ["depth", "act", "flags"]}]}})
    result = repo.cli("params", "diff")
    assert rows(result.stdout) == ["conf/model.yaml:act - -> relu (added)",
                                    "conf/model.yaml:depth - -> 3 (added)",
                                    "conf/model.yaml:flags - -> [1, 2] (added)",
                                    "seed 1 -> - (removed)"]
    data = json.loads(repo.cli("params", "diff", "--json").stdout)
    assert data["conf/model.yaml"]["flags"] == {"old": None, "new": [1, 2], "diff": None}
    assert data["params.yaml"]["seed"] == {"old": 1, "new": None, "diff": None}


def test_params_diff_names_values_of_every_type_as_the_file_writes_them(repo: Repo) -> None:
    repo.gen({"params.yaml": {"a": {"on": True, "name": "x", "none": None, "r": 0.3}}})
    repo.spec({"s": {"cmd": "true", "params": ["a"]}})
    repo.commit("first")
    repo.gen({"params.yaml": {"a": {"on": False, "name": "y", "none": 1, "r": 0.1}}})
    assert rows(repo.cli("params", "diff").stdout) == [
        "a.name x -> y", "a.none null -> 1", "a.on true -> false", "a.r 0.3 -> 0.1 (-0.2)"]


def test_params_diff_refuses_a_third_revision_and_an_unknown_one(repo: Repo) -> None:
    params_repo(repo)
    done = repo.run("params", "diff", "HEAD", "HEAD", "HEAD")
    assert done.returncode == 2 and "at most two revisions" in done.stderr
    done = repo.run("params", "diff", "nope")
    assert done.returncode == 2
    assert "unknown revision 'nope'" in done.stderr and "hint:" in done.stderr
    assert "Traceback" not in done.stderr


def test_params_diff_targets_names_params_files_as_dvc_s(repo: Repo) -> None:
    """`dvc params diff --targets FILE`: only that params file's changes; a
    file no stage reads is refused with its near miss."""
    params_repo(repo)
    repo.gen({"train.yaml": {"depth": 3}})
    repo.spec({"fit": {"cmd": "true", "params": ["train", "seed", {"train.yaml": ["depth"]}]}})
    repo.commit("train.yaml")
    repo.gen({"train.yaml": {"depth": 4},
              "params.yaml": {**PARAMS, "train": {"lr": 0.02, "epochs": 14}}})
    both = repo.run("params", "diff", check=True)
    assert rows(both.stdout) == ["train.epochs 12 -> 14 (+2)", "train.yaml:depth 3 -> 4 (+1)"]
    one = repo.run("params", "diff", "--targets", "./train.yaml", check=True)
    assert rows(one.stdout) == ["train.yaml:depth 3 -> 4 (+1)"], one.stdout
    assert json.loads(repo.run("params", "diff", "--targets", "params.yaml", "--json",
                               check=True).stdout) == {
        "params.yaml": {"train.epochs": {"old": 12, "new": 14, "diff": 2}}}
    typo = repo.run("params", "diff", "--targets", "trian.yaml")
    assert typo.returncode == 2 and typo.stderr.splitlines() == [
        "error: gitpipe.yaml declares no params file 'trian.yaml' (did you mean "
        "'train.yaml'?)", "hint: its params files: params.yaml, train.yaml"], typo.stderr


def test_a_broken_params_file_at_a_revision_is_named_with_the_revision(repo: Repo) -> None:
    params_repo(repo)
    repo.gen({"params.yaml": "train: [unclosed\n"}, commit="broken")
    done = repo.run("params", "diff", "HEAD~1", "HEAD")
    assert done.returncode == 2, done.stderr
    assert "params.yaml" in done.stderr and "at HEAD" in done.stderr
    assert "Traceback" not in done.stderr


# Metrics ---------------------------------------------------------------------------

SOURCES = {
    "src/m.json": json.dumps({"acc": 0.9, "loss": {"train": 0.3, "val": 0.4}, "model": "a"}),
    "src/s.yaml": "auc: 0.7\nsteps: 100\n",
    "src/t.toml": "[eval]\nf1 = 0.5\n",
}
METRICS = ["metrics.json", "scores.yaml", "extra.toml"]


def metrics_repo(repo: Repo, **changes: Any) -> Repo:
    """A stage copying src/ to three metrics files, run and committed; then
    run again and committed with `changes` ({file: text})."""
    repo.gen(SOURCES)
    repo.spec({"train": {"cmd": "cp src/m.json metrics.json && cp src/s.yaml scores.yaml"
                                " && cp src/t.toml extra.toml",
                         "deps": ["src"], "metrics": METRICS}})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.commit("first run")
    repo.gen({"src/m.json": json.dumps({"acc": 0.95, "loss": {"train": 0.25, "val": 0.4},
                                        "model": "b"}),
              "src/t.toml": "[eval]\nf1 = 0.75\n"})
    repo.run("repro", check=True)
    repo.commit("second run")
    return repo


def test_metrics_show_prints_the_work_trees_values_flattened(repo: Repo) -> None:
    result = metrics_repo(repo).cli("metrics", "show")
    assert result.exit_code == 0, result.output
    assert lines(result.stdout) == [
        "metric workspace", "extra.toml:eval.f1 0.75", "metrics.json:acc 0.95",
        "metrics.json:loss.train 0.25", "metrics.json:loss.val 0.4", "metrics.json:model b",
        "scores.yaml:auc 0.7", "scores.yaml:steps 100"]


def test_metrics_show_at_revisions_has_a_column_each(repo: Repo) -> None:
    result = metrics_repo(repo).cli("metrics", "show", "HEAD~1", "HEAD")
    assert lines(result.stdout)[:3] == ["metric HEAD~1 HEAD", "extra.toml:eval.f1 0.5 0.75",
                                        "metrics.json:acc 0.9 0.95"]
    data = json.loads(repo.cli("metrics", "show", "HEAD~1", "--json").stdout)
    assert data == {"HEAD~1": {
        "extra.toml": {"data": {"eval.f1": 0.5}},
        "metrics.json": {"data": {"acc": 0.9, "loss.train": 0.3, "loss.val": 0.4,
                                  "model": "a"}},
        "scores.yaml": {"data": {"auc": 0.7, "steps": 100}}}}


def test_metrics_diff_with_zero_one_and_two_revisions(repo: Repo) -> None:
    metrics_repo(repo)
    assert repo.cli("metrics", "diff").stdout.strip() == \
        "no metrics differ between HEAD and workspace"
    repo.gen({"scores.yaml": "auc: 0.8\nsteps: 100\n"})
    assert rows(repo.cli("metrics", "diff").stdout) == ["scores.yaml:auc 0.7 -> 0.8 (+0.1)"]
    assert rows(repo.cli("metrics", "diff", "HEAD~1").stdout) == [
        "extra.toml:eval.f1 0.5 -> 0.75 (+0.25)", "metrics.json:acc 0.9 -> 0.95 (+0.05)",
        "metrics.json:loss.train 0.3 -> 0.25 (-0.05)", "metrics.json:model a -> b",
        "scores.yaml:auc 0.7 -> 0.8 (+0.1)"]
    result = repo.cli("metrics", "diff", "HEAD~1", "HEAD", "--json")
    assert json.loads(result.stdout) == {
        "extra.toml": {"eval.f1": {"old": 0.5, "new": 0.75, "diff": 0.25}},
        "metrics.json": {"acc": {"old": 0.9, "new": 0.95, "diff": 0.05},
                         "loss.train": {"old": 0.3, "new": 0.25, "diff": -0.05},
                         "model": {"old": "a", "new": "b", "diff": None}}}
    everything = rows(repo.cli("metrics", "diff", "HEAD~1", "HEAD", "--all").stdout)
    assert "metrics.json:loss.val 0.4 -> 0.4" in everything and len(everything) == 7


def test_a_metric_s_float_noise_is_not_shown_but_its_json_is_exact(repo: Repo) -> None:
    """A training script's 0.726 is often 0.7259999999999999 in its file (DVC
    shows metrics rounded): the table shows 12 significant digits of a value
    that needs more than 15 (a value written with fewer as it is, never a
    rounded number that looks exact), `--json` the value as written. Where
    that would show two differing values alike, both are shown whole."""
    metrics_repo(repo)
    repo.gen({"scores.yaml": "auc: 0.7259999999999999\nsteps: 100\n"})
    shown = repo.run("metrics", "show")
    assert "scores.yaml:auc 0.726" in lines(shown.stdout), shown.stdout
    diff = repo.run("metrics", "diff")
    assert rows(diff.stdout) == ["scores.yaml:auc 0.7 -> 0.726 (+0.026)"], diff.stdout
    exact = json.loads(repo.run("metrics", "diff", "--json").stdout)
    assert exact["scores.yaml"]["auc"]["new"] == 0.7259999999999999, exact
    repo.gen({"scores.yaml": "auc: 0.70000000000001\nsteps: 100\n"})
    tiny = repo.run("metrics", "diff")
    assert rows(tiny.stdout) == ["scores.yaml:auc 0.7 -> 0.70000000000001 (+1e-14)"], tiny.stdout
    repo.gen({"scores.yaml": "auc: 123456789012345.0\nsteps: 100\n"})
    large = repo.run("metrics", "show")
    assert "scores.yaml:auc 123456789012345.0" in lines(large.stdout), large.stdout
    # a computed value whose shortest form has 15 digits reads as the others do
    repo.gen({"scores.yaml": "auc: 0.773938187033374\nsteps: 100\n"})
    computed = repo.run("metrics", "diff", check=True)
    assert rows(computed.stdout) == ["scores.yaml:auc 0.7 -> 0.773938187033 (+0.073938187033)"]


def test_precision_rounds_the_tables_floats_as_dvc_s_does(repo: Repo) -> None:
    """DVC users reach for `metrics show --precision N`: floats rounded to N
    digits after the point in both tables (the change too); --json whole."""
    metrics_repo(repo)
    repo.gen({"scores.yaml": "auc: 0.393359416271\nsteps: 100\n"})
    shown = repo.run("metrics", "show", "--precision", "3", check=True)
    assert "scores.yaml:auc 0.393" in lines(shown.stdout), shown.stdout
    assert "scores.yaml:steps 100" in lines(shown.stdout), "an int is as it is"
    columns = repo.run("metrics", "show", "HEAD", "--precision", "1", check=True)
    assert "metrics.json:acc 0.9" in lines(columns.stdout), columns.stdout  # 0.95 -> 0.9
    diff = repo.run("metrics", "diff", "--precision", "2", check=True)
    assert rows(diff.stdout) == ["scores.yaml:auc 0.7 -> 0.39 (-0.31)"], diff.stdout
    exact = json.loads(repo.run("metrics", "diff", "--precision", "2", "--json").stdout)
    assert exact["scores.yaml"]["auc"]["new"] == 0.393359416271, exact
    # the change is the values' change rounded, as DVC's, not the rounded values' change
    repo.gen({"scores.yaml": "auc: 0.8206454108512965\nsteps: 100\n"}, commit="auc")
    repo.gen({"scores.yaml": "auc: 0.8323793879785805\nsteps: 100\n"})
    rounded = repo.run("metrics", "diff", "--precision", "3", check=True)
    assert rows(rounded.stdout) == ["scores.yaml:auc 0.821 -> 0.832 (+0.012)"], rounded.stdout


def test_a_metrics_file_s_path_shows_or_diffs_that_file_only_as_dvc_targets(
        repo: Repo) -> None:
    """`dvc metrics show eval/m.json` and `metrics diff --targets PATH` name
    files; `metrics show PATH` said `unknown revision`."""
    metrics_repo(repo)
    shown = repo.run("metrics", "show", "scores.yaml", check=True)
    assert lines(shown.stdout) == ["metric workspace", "scores.yaml:auc 0.7",
                                   "scores.yaml:steps 100"], shown.stdout
    at = repo.run("metrics", "show", "HEAD~1", "./extra.toml", "HEAD", check=True)
    assert lines(at.stdout) == ["metric HEAD~1 HEAD", "extra.toml:eval.f1 0.5 0.75"], at.stdout
    diff = repo.run("metrics", "diff", "HEAD~1", "--targets", "extra.toml", check=True)
    assert rows(diff.stdout) == ["extra.toml:eval.f1 0.5 -> 0.75 (+0.25)"], diff.stdout
    undeclared = repo.run("metrics", "show", "src/s.yaml")
    assert undeclared.returncode == 2 and undeclared.stderr.splitlines() == [
        "error: 'src/s.yaml' is neither a revision nor a metrics file gitpipe.yaml declares",
        "hint: its metrics files: extra.toml, metrics.json, scores.yaml"], undeclared.stderr
    typo = repo.run("metrics", "diff", "--targets", "extra.tml")
    assert typo.returncode == 2 and typo.stderr.splitlines()[0] == (
        "error: gitpipe.yaml declares no metrics file 'extra.tml' (did you mean "
        "'extra.toml'?)"), typo.stderr


def test_a_metrics_file_missing_in_the_work_tree_shows_as_missing(repo: Repo) -> None:
    metrics_repo(repo)
    (repo.path / "extra.toml").unlink()
    result = repo.cli("metrics", "show")
    assert result.exit_code == 0
    assert "extra.toml (missing)" in lines(result.stdout)
    assert json.loads(repo.cli("metrics", "show", "--json").stdout)["workspace"][
        "extra.toml"] == {"missing": True}
    assert rows(repo.cli("metrics", "diff").stdout) == ["extra.toml:eval.f1 0.75 -> - (removed)"]


def test_a_metrics_file_missing_at_a_revision_shows_as_missing(repo: Repo) -> None:
    """Declared at the commit, but neither committed nor recorded in its lock."""
    repo.gen(SOURCES)
    repo.spec({"train": {"cmd": "cp src/m.json metrics.json", "metrics": ["metrics.json"]}})
    repo.run("init", check=True)
    repo.commit("declared, never run")
    repo.run("repro", check=True)
    result = repo.cli("metrics", "show", "HEAD")
    assert result.exit_code == 0 and lines(result.stdout) == ["metric HEAD",
                                                              "metrics.json (missing)"]
    assert rows(repo.cli("metrics", "diff").stdout)[0] == "metrics.json:acc - -> 0.9 (added)"


@pytest.mark.parametrize(("name", "text", "problem"), [
    ("metrics.json", "{\"acc\": 0.9,\n", "metrics.json (workspace):2: invalid JSON"),
    ("scores.yaml", "auc: [0.7\n", "scores.yaml (workspace)"),
    ("extra.toml", "[eval\n", "extra.toml (workspace): invalid TOML"),
    ("metrics.json", "[1, 2]", "must hold a mapping of metric names"),
])
def test_a_broken_metrics_file_is_named_and_the_rest_shown(repo: Repo, name: str, text: str,
                                                           problem: str) -> None:
    metrics_repo(repo).gen({name: text})
    done = repo.run("metrics", "show")
    assert done.returncode == 1
    assert f"{name} (unreadable)" in lines(done.stdout)
    assert "scores.yaml:steps 100" in lines(done.stdout) or name == "scores.yaml"
    assert problem in done.stderr and "Traceback" not in done.stderr
    done = repo.run("metrics", "diff")
    assert done.returncode == 1 and problem in done.stderr
    assert name not in done.stdout  # its values are left out, not shown as removed


def test_a_broken_metrics_file_at_a_revision_names_the_revision(repo: Repo) -> None:
    metrics_repo(repo).gen({"metrics.json": b"\xff\xfe"}, commit="garbage")
    done = repo.run("metrics", "show", "HEAD", "--json")
    assert done.returncode == 1
    assert "metrics.json (at HEAD): not UTF-8 text" in done.stderr
    assert json.loads(done.stdout)["HEAD"]["metrics.json"]["error"].startswith("metrics.json")


def test_a_metrics_file_linked_outside_the_project_is_not_read(repo: Repo, tmp_path) -> None:
    metrics_repo(repo)
    (tmp_path / "secret.yaml").write_text("token: abc\n")
    (repo.path / "scores.yaml").unlink()
    os.symlink(tmp_path / "secret.yaml", repo.path / "scores.yaml")
    done = repo.run("metrics", "show")
    assert done.returncode == 1 and "scores.yaml: leads outside the project" in done.stderr
    assert "abc" not in done.stdout + done.stderr


def test_an_oversized_metrics_file_is_refused_before_it_is_parsed(repo: Repo) -> None:
    metrics_repo(repo).gen({"scores.yaml": "a: 1\n" + "#" * (5 * 1024 * 1024)}, commit="big")
    done = repo.run("metrics", "show", "HEAD")
    assert done.returncode == 1 and "larger than 4 MiB" in done.stderr


def cache_only_repo(repo: Repo) -> tuple[Repo, str]:
    """metrics.json never committed to git: only the lock's digest names it."""
    repo.gen({**SOURCES, ".gitignore": "metrics.json\n"})
    repo.spec({"train": {"cmd": "cp src/m.json metrics.json", "deps": ["src"],
                         "metrics": ["metrics.json"]}})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.commit("run")
    assert "metrics.json" not in repo.git("ls-files")
    digest = repo.project().lock_entries["train"].out("metrics.json").digest
    return repo, digest


def test_a_metric_only_in_the_cache_is_read_from_the_cache(repo: Repo) -> None:
    cache_only_repo(repo)
    (repo.path / "metrics.json").unlink()
    result = repo.cli("metrics", "show", "HEAD")
    assert result.exit_code == 0, result.output
    assert "metrics.json:acc 0.9" in lines(result.stdout)


def test_a_metric_absent_from_the_cache_says_so_with_a_pull_hint(repo: Repo) -> None:
    _, digest = cache_only_repo(repo)
    obj = repo.project().cache.path(digest)
    os.chmod(obj, 0o644)
    obj.unlink()
    done = repo.run("metrics", "show", "HEAD")
    assert done.returncode == 1
    assert f"metrics.json (at HEAD): not in git, and {digest} is not in the local cache" \
        in done.stderr
    assert "hint: " in done.stderr and "gitpipe pull" in done.stderr
    done = repo.run("metrics", "diff", "HEAD", "HEAD")
    assert done.returncode == 1 and done.stdout.strip() == \
        "no metrics differ between HEAD and HEAD in the files that could be read"


def test_a_corrupt_cached_metric_is_refused(repo: Repo) -> None:
    _, digest = cache_only_repo(repo)
    obj = repo.project().cache.path(digest)
    os.chmod(obj, 0o644)
    obj.write_text('{"acc": 1.0}')
    done = repo.run("metrics", "show", "HEAD")
    assert done.returncode == 1 and "is corrupt" in done.stderr
    assert "acc 1.0" not in done.stdout


def test_metric_changes_name_a_changed_metric_by_value(repo: Repo) -> None:
    from gitpipe.pipeline.params import ABSENT
    from gitpipe.usecases.values import metric_changes

    metrics_repo(repo)
    changes = {c.name: c for c in metric_changes(repo.project(), "HEAD~1", "HEAD")}
    assert changes["metrics.json:acc"][1:] == ("acc", 0.9, 0.95, 0.05)
    assert str(changes["metrics.json:acc"]) == "metrics.json:acc 0.9 -> 0.95 (+0.05)"
    assert str(changes["metrics.json:model"]) == "metrics.json:model a -> b"
    assert "metrics.json:loss.val" not in changes
    (repo.path / "scores.yaml").unlink()
    gone = {c.name: c for c in metric_changes(repo.project(), "HEAD", None)}
    assert gone["scores.yaml:steps"].new is ABSENT
    assert str(gone["scores.yaml:steps"]) == "scores.yaml:steps 100 -> - (removed)"


def test_the_python_api_gives_the_same_values(repo: Repo) -> None:
    import gitpipe

    metrics_repo(repo)
    project = gitpipe.Project(repo.path)
    shown = project.metrics_show(["HEAD~1", None])
    assert [f.values.get("acc") for f in shown["HEAD~1"]] == [None, 0.9, None]
    assert [str(c) for c in project.metrics_diff("HEAD~1", "HEAD").changes][:2] == [
        "extra.toml:eval.f1 0.5 -> 0.75 (+0.25)", "metrics.json:acc 0.9 -> 0.95 (+0.05)"]
    assert project.params_diff() == []


def test_no_metrics_declared_says_where_to_declare_them(repo: Repo) -> None:
    params_repo(repo)
    assert "list them under 'metrics:'" in repo.cli("metrics", "show").stdout
    assert repo.cli("metrics", "diff").stdout.strip() == \
        "no metrics differ between HEAD and workspace"


def test_a_revision_before_the_pipeline_has_no_params_and_no_metrics(repo: Repo) -> None:
    repo.gen({"README": "x\n"}, commit="before gitpipe")
    metrics_repo(repo)
    assert lines(repo.cli("params", "diff", "HEAD~2").stdout) == \
        ["no params differ between HEAD~2 and workspace"]  # no stage names any param
    result = repo.cli("metrics", "diff", "HEAD~2", "HEAD")
    assert result.exit_code == 0
    assert "metrics.json:acc - -> 0.95 (added)" in lines(result.stdout)
    assert repo.cli("metrics", "show", "HEAD~2", "--json").stdout.strip() == '{"HEAD~2": {}}'


def test_each_partition_has_its_own_metrics_file(repo: Repo) -> None:
    repo.spec({"day": {"partition": {"by": "date", "start": "2024-01-01", "end": "2024-01-02"},
                       "cmd": "echo \"n: ${day}\" > m-${date}.yaml",
                       "metrics": ["m-${date}.yaml"]}})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.commit("run")
    assert lines(repo.cli("metrics", "show", "HEAD").stdout) == [
        "metric HEAD", "m-2024-01-01.yaml:n 1", "m-2024-01-02.yaml:n 2"]


def test_a_damaged_lock_at_a_revision_is_named_when_a_metric_needs_it(repo: Repo) -> None:
    cache_only_repo(repo)
    repo.gen({"gitpipe.lock": "schema: 99\n"}, commit="damaged lock")
    done = repo.run("metrics", "show", "HEAD")
    assert done.returncode == 2
    assert "gitpipe.lock: unknown schema 99 (at HEAD)" in done.stderr
    assert "Traceback" not in done.stderr


def test_metrics_show_never_shows_two_revisions_differing_values_alike(repo: Repo) -> None:
    """`metrics show A B` puts each revision's value side by side: where the
    12 significant digits of a table would read two differing floats alike
    (a change past the twelfth digit), the row shows both whole, as `metrics
    diff` does, never two equal cells over a change."""
    metrics_repo(repo)
    repo.gen({"scores.yaml": "auc: 0.1234567890123\nsteps: 100\n"}, commit="one")
    repo.gen({"scores.yaml": "auc: 0.1234567890124\nsteps: 100\n"}, commit="two")
    shown = repo.run("metrics", "show", "HEAD~1", "HEAD")
    assert "scores.yaml:auc 0.1234567890123 0.1234567890124" in lines(shown.stdout), shown.stdout
    assert "scores.yaml:steps 100 100" in lines(shown.stdout), shown.stdout
    repo.gen({"scores.yaml": "auc: 0.7259999999999999\nsteps: 100\n"}, commit="three")
    repo.gen({"scores.yaml": "auc: 0.726\nsteps: 100\n"}, commit="four")
    noise = repo.run("metrics", "show", "HEAD~1", "HEAD")
    assert "scores.yaml:auc 0.7259999999999999 0.726" in lines(noise.stdout), noise.stdout

"""foreach and matrix stages on real repositories with real subprocesses: each item
a node with its own lock entry, staleness and limits, as partitions are."""

from __future__ import annotations

import pytest

from gitpipe.engine.backfill import BackfillOptions
from gitpipe.engine.reports import ReproOptions
from tests.conftest import Repo, ran_cmd
from tests.func.test_parallel import max_concurrent

MODELS = {"uk": {"epochs": 3, "thresh": 10}, "us": {"epochs": 10, "thresh": 15}}


def build_stage(models: object = None) -> dict:
    return {"foreach": models if models is not None else MODELS,
            "do": {"cmd": ran_cmd("build@${key}", "echo '${key}' ${item.epochs} ${item.thresh}"
                                                  " > model-${key}.txt"),
                   "outs": ["model-${key}.txt"]}}


def train_stage() -> dict:
    return {"matrix": {"model": ["cnn", "xgb"], "feature": ["f1", "f2"]},
            "cmd": ran_cmd("train@${key}", "echo ${item.model} ${item.feature} > "
                                           "${item.model}-${item.feature}.pkl"),
            "outs": ["${item.model}-${item.feature}.pkl"]}


def test_every_item_runs_once_with_its_own_lock_entry(repo: Repo) -> None:
    repo.spec({"build": build_stage(), "train": train_stage()}, commit="spec")
    report = repo.project().repro()
    assert report.ok
    assert sorted(repo.ran()) == ["build@uk", "build@us", "train@cnn-f1", "train@cnn-f2",
                                  "train@xgb-f1", "train@xgb-f2"]
    assert repo.read("model-uk.txt") == "uk 3 10\n"
    assert repo.read("xgb-f2.pkl") == "xgb f2\n"
    entries = repo.project().lock_entries
    assert {"build@uk", "build@us", "train@cnn-f1", "train@xgb-f2"} <= set(entries)
    assert "echo 'us' 10 15 > model-us.txt" in entries["build@us"].cmd
    assert repo.project().repro().ok and repo.ran() == []


def test_changing_one_item_reruns_only_that_node(repo: Repo) -> None:
    repo.spec({"build": build_stage()}, commit="spec")
    repo.project().repro()
    repo.ran()
    repo.spec({"build": build_stage({**MODELS, "us": {"epochs": 11, "thresh": 15}})})
    done = repo.run("status")
    assert "build@us:" in done.stdout, done.stdout
    assert "1 of 1 stage stale (1 of 2 items)" in done.stdout, done.stdout
    assert repo.project().repro().ok
    assert repo.ran() == ["build@us"]
    assert repo.read("model-us.txt") == "us 11 15\n"


def test_repro_of_one_node_a_list_of_nodes_and_a_glob(repo: Repo) -> None:
    repo.spec({"train": train_stage()}, commit="spec")
    assert repo.run("repro", "train@cnn-f2").returncode == 0
    assert repo.ran() == ["train@cnn-f2"]
    assert repo.run("repro", "train@xgb-f1", "train@xgb-f2").returncode == 0
    assert sorted(repo.ran()) == ["train@xgb-f1", "train@xgb-f2"]
    assert repo.run("repro", "-f", "train@*-f2").returncode == 0
    assert sorted(repo.ran()) == ["train@cnn-f2", "train@xgb-f2"]
    assert repo.run("repro", "train").returncode == 0
    assert repo.ran() == ["train@cnn-f1"]


def test_an_unknown_node_names_the_stage_s_nodes(repo: Repo) -> None:
    repo.spec({"build": build_stage()}, commit="spec")
    done = repo.run("repro", "build@uj")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "stage 'build' has no item 'uj'" in done.stderr
    assert "hint:" in done.stderr


def test_vars_from_params_yaml_are_read_again_when_it_changes(repo: Repo) -> None:
    spec = {"vars": ["params.yaml"],
            "stages": {"fit": {"foreach": "${models}",
                               "do": {"cmd": ran_cmd("fit@${item}", "echo ${item} ${seed} > "
                                                                    "fit-${item}.txt"),
                                      "outs": ["fit-${item}.txt"]}}}}
    repo.gen({"gitpipe.yaml": spec, "params.yaml": {"models": ["a", "b"], "seed": 1}},
             commit="spec")
    assert repo.run("repro").returncode == 0
    assert sorted(repo.ran()) == ["fit@a", "fit@b"]
    assert repo.run("status").stdout.strip() == "everything is up to date"
    # the remembered pipeline holds only while the files its values came from do
    repo.gen({"params.yaml": {"models": ["a", "b", "c"], "seed": 1}})
    done = repo.run("status")
    assert "fit@c:" in done.stdout, done.stdout
    assert "1 of 1 stage stale (1 of 3 items)" in done.stdout, done.stdout
    repo.gen({"params.yaml": {"models": ["a", "b", "c"], "seed": 2}})
    assert repo.run("repro").returncode == 0
    assert sorted(repo.ran()) == ["fit@a", "fit@b", "fit@c"]
    assert repo.read("fit-c.txt") == "c 2\n"


def test_items_share_the_stage_concurrency(repo: Repo) -> None:
    stamp = 'python3 -c "import time; print(time.time())" >> times/${item}'
    repo.spec({"slow": {"foreach": ["a", "b", "c", "d", "e"],
                        "do": {"cmd": f"mkdir -p times out && {stamp} && sleep 0.4 && {stamp}"
                                      " && echo > out/${item}",
                               "outs": ["out/${item}"], "concurrency": 2}}}, commit="spec")
    assert repo.project().repro(options=ReproOptions(jobs=8)).ok
    spans = [tuple(float(x) for x in p.read_text().split())
             for p in (repo.path / "times").iterdir()]
    assert len(spans) == 5 and max_concurrent(spans) == 2


def test_backfill_runs_the_stale_items_and_refuses_dates(repo: Repo) -> None:
    repo.spec({"build": build_stage()}, commit="spec")
    report = repo.project().backfill(BackfillOptions("build"))
    assert report.ok and sorted(repo.ran()) == ["build@uk", "build@us"]
    done = repo.run("backfill", "build", "--start", "2024-01-01")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "foreach items, not dates" in done.stderr


def test_downstream_of_items_depends_on_each(repo: Repo) -> None:
    repo.spec({"build": build_stage(),
               "report": {"cmd": ran_cmd("report", "cat model-uk.txt model-us.txt > r.txt"),
                          "deps": ["model-uk.txt", "model-us.txt"], "outs": ["r.txt"]}},
              commit="spec")
    assert repo.project().repro().ok
    assert repo.ran()[-1] == "report"
    done = repo.run("dag", "--format", "mermaid")
    assert done.returncode == 0, done.stderr
    assert "build@uk" in done.stdout and "report" in done.stdout


@pytest.mark.parametrize(("stage", "message"), [
    ({"foreach": ["a", "a"], "do": {"cmd": "echo ${item}"}}, "names item 'a' twice"),
    ({"foreach": ["a b"], "do": {"cmd": "echo ${item}"}}, "item name 'a b' cannot name a node"),
    ({"foreach": ["a"], "do": {"cmd": "echo ${item}", "partition": {
        "by": "date", "start": "2024-01-01"}}}, "'partition' or 'foreach', not both"),
    ({"foreach": [{"x": 1}], "do": {"cmd": "echo ${item.y}"}},
     "cmd of s@0: ${item.y}: 'y' is not defined in ${item}"),
])
def test_bad_items_exit_2_without_a_traceback(repo: Repo, stage: dict, message: str) -> None:
    repo.spec({"s": stage}, commit="spec")
    for command in ("validate", "repro", "status"):
        done = repo.run(command)
        assert done.returncode == 2, (command, done.stderr)
        assert message in done.stderr and "gitpipe.yaml:" in done.stderr
        assert "hint: foreach, matrix" in done.stderr
        assert "Traceback" not in done.stderr


def test_status_at_a_revision_reads_vars_from_that_revision(repo: Repo) -> None:
    spec = {"stages": {"fit": {"foreach": "${models}",
                               "do": {"cmd": "echo ${item} > fit-${item}.txt",
                                      "outs": ["fit-${item}.txt"]}}}}
    repo.gen({"gitpipe.yaml": spec, "params.yaml": {"models": ["a", "b"]}}, commit="spec")
    assert repo.run("repro").returncode == 0
    repo.commit("ran")
    repo.gen({"params.yaml": {"models": ["a", "b", "c"]}})
    done = repo.run("status")
    assert "fit@c:" in done.stdout, done.stdout
    assert "1 of 1 stage stale (1 of 3 items)" in done.stdout, done.stdout
    done = repo.run("status", "--rev", "HEAD")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "everything is up to date"


def test_item_outs_are_ignored_by_their_exact_names(repo: Repo) -> None:
    repo.spec({"build": {"foreach": ["us", "eu"], "do": {
        "cmd": "mkdir -p out && echo ${item} > out/${item}.txt", "outs": ["out/${item}.txt"]}}})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    (repo.path / "out/lookup.txt").write_text("made by hand\n")
    ignored = repo.git("status", "--porcelain", "--ignored", "--untracked-files=all")
    assert "!! out/us.txt" in ignored and "!! out/eu.txt" in ignored
    assert "?? out/lookup.txt" in ignored, "a file beside the items' outs stays visible to git"


def test_a_vars_file_linked_outside_the_repository_is_refused(repo: Repo, tmp_path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("token: hunter2\n")
    (repo.path / "link.yaml").symlink_to(secret)
    repo.gen({"gitpipe.yaml": "vars: [link.yaml]\nstages:\n  a:\n    cmd: echo ${token} > o.txt\n"
                              "    outs: [o.txt]\n"})
    for command in ("validate", "repro", "status"):
        done = repo.run(command)
        assert done.returncode == 2 and "leads outside the repository" in done.stderr
    assert not (repo.path / "gitpipe.lock").exists()


def test_a_removed_item_or_stage_is_dropped_from_the_lock_and_checkout_keeps_working(
        repo: Repo) -> None:
    repo.spec({"build": build_stage(), "other": {"cmd": "echo o > other.txt",
                                                "outs": ["other.txt"]}}, commit="spec")
    assert repo.run("repro").returncode == 0
    repo.git("add", "gitpipe.lock")
    repo.git("commit", "-qm", "lock")
    repo.spec({"build": build_stage({"uk": MODELS["uk"]})}, commit="us and other removed")
    # The committed lock still names them: checkout leaves them alone, with a warning.
    checked = repo.run("checkout")
    assert checked.returncode == 0, checked.stderr
    assert "gitpipe.lock has an entry for 'build@us'" in checked.stderr
    assert "gitpipe.lock has an entry for 'other'" in checked.stderr
    repo.ran()
    dry = repo.run("repro", "--dry-run")
    assert "would drop the lock entry of build@us" in dry.stdout + dry.stderr, dry.stdout
    assert "build@us" in repo.read("gitpipe.lock"), "a dry run writes nothing"
    # Nothing is stale, yet the repro drops the two entries, saying so.
    done = repo.run("repro")
    assert done.returncode == 0, done.stderr
    assert "dropped the lock entry of build@us" in done.stdout + done.stderr
    assert "dropped the lock entry of other" in done.stdout + done.stderr
    assert repo.ran() == []
    assert set(repo.project().lock_entries) == {"build@uk"}
    assert repo.read("model-us.txt") == "us 10 15\n"  # its out is left as it was
    checked = repo.run("checkout")
    assert checked.returncode == 0 and "warning" not in checked.stderr, checked.stderr
    assert "dropped" not in repo.run("repro").stdout


def test_items_stale_alike_read_as_one_line_with_their_key_as_key(repo: Repo) -> None:
    repo.spec({"build": build_stage()}, commit="spec")
    assert repo.run("repro").returncode == 0
    (repo.path / "model-uk.txt").unlink()
    (repo.path / "model-us.txt").unlink()
    done = repo.run("status")
    assert "outs: model-${key}.txt missing" in done.stdout, done.stdout
    assert "${date}" not in done.stdout


SWEEP = {"foreach": ["a", "ab", "1", "5"],
         "do": {"cmd": "cat data/${item}.csv > out-${item}.txt",
                "deps": ["data/${item}.csv"], "params": ["train.lr"],
                "outs": ["out-${item}.txt"]}}


@pytest.mark.parametrize("command", [("status",), ("repro", "--dry-run"), ("repro",)])
def test_items_group_by_their_whole_key_never_a_part_of_a_word_or_value(
        repo: Repo, command: tuple[str, ...]) -> None:
    # `a` is inside `data`, in `ab` and in `lr`; `1` and `5` are inside 0.1 and 0.5.
    repo.spec({"sweep": SWEEP})
    repo.gen({"params.yaml": {"train": {"lr": 0.1}},
              **{f"data/{key}.csv": f"{key}\n" for key in SWEEP["foreach"]}})
    repo.run("repro", check=True)
    repo.gen({"params.yaml": {"train": {"lr": 0.5}},
              **{f"data/{key}.csv": f"{key} again\n" for key in SWEEP["foreach"]}})
    done = repo.run(*command)
    assert done.returncode == 0, done.stderr
    said = done.stdout.replace(":\n    ", ": ").replace("\n    ", "; ")
    lines = [line for line in said.splitlines()
             if "sweep@" in line and not line.startswith("running ")]
    assert len(lines) == 1 and "sweep@a … 5 (4 of 4)" in lines[0], done.stdout  # the four
    assert lines[0].endswith("deps: data/${item}.csv modified; params: train.lr 0.1 -> 0.5")


def test_an_item_value_changed_in_the_spec_is_seen_in_the_cmd_status_names(
        repo: Repo) -> None:
    """`${item.depth}` is not a param: its change is the command's, and status
    shows the command before and after, not a bare `cmd changed`; partitions
    whose command changed alike stay one entry, their dates as `${date}`."""
    repo.spec({"train": {"foreach": {"shallow": {"depth": 2}, "deep": {"depth": 5}},
                         "do": {"cmd": "echo ${item.depth} > tree-${key}.txt",
                                "outs": ["tree-${key}.txt"]}},
               "day": {"partition": {"by": "date", "start": "2024-01-01",
                                     "end": "2024-01-03"},
                       "cmd": "echo ${date} > day-${date}.txt", "outs": ["day-${date}.txt"]}})
    repo.run("repro", check=True)
    spec = (repo.read("gitpipe.yaml").replace("depth: 5", "depth: 6")
            .replace("echo ${date} >", "echo ${date} day >"))
    repo.gen({"gitpipe.yaml": spec})
    status = repo.run("status").stdout
    assert "train@deep:\n    cmd changed: echo 5 > tree-deep.txt -> echo 6 > tree-deep.txt\n" \
        in status, status
    assert ("day@2024-01-01 … 2024-01-03 (3 of 3):\n"
            "    cmd changed: echo ${date} > day-${date}.txt -> echo ${date} day > "
            "day-${date}.txt\n") in status, status

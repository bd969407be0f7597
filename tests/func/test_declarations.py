"""What a stage declares against what is hashed: params in canonical form, the
executable bit of outs, `.gitpipeignore`, executor settings in the fingerprint,
and declaration-only changes re-recorded without a run. Real git, real files,
the CLI as a subprocess where the answer must hold across processes."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.conftest import Repo, ran_cmd


def status_json(repo: Repo, **env: str) -> dict[str, list[str]]:
    done = repo.run("status", "--json", env=env)
    assert done.returncode == 0, done.stderr
    return {row["name"]: row["reasons"] for row in json.loads(done.stdout)["stages"]}


# -- params ------------------------------------------------------------------------------

def test_nan_and_set_params_are_up_to_date_in_every_process(repo: Repo) -> None:
    repo.gen({"params.yaml": "train:\n  tol: .nan\n  tags: !!set {b, a, c, d, e}\n"
                             "  at: 2024-03-01T10:00:00+01:00\n  zero: -0.0\n"})
    repo.spec({"train": {"cmd": ran_cmd("train", "echo x > out.txt"), "params": ["train"],
                         "outs": ["out.txt"]}}, commit="pipeline")
    done = repo.run("repro", env={"PYTHONHASHSEED": "1", "GITPIPE_NO_SEAL": "1"})
    assert done.returncode == 0, done.stderr
    assert repo.ran() == ["train"]
    for seed in ("2", "3", "4"):
        assert status_json(repo, PYTHONHASHSEED=seed, GITPIPE_NO_SEAL="1") == {"train": []}
    lock = yaml.safe_load(repo.read("gitpipe.lock"))
    assert lock["stages"]["train"]["params"]["train"]["tags"] == ["a", "b", "c", "d", "e"]
    again = repo.run("repro", env={"PYTHONHASHSEED": "5", "GITPIPE_NO_SEAL": "1"})
    assert again.returncode == 0, again.stderr
    assert repo.ran() == []


def test_a_real_param_change_is_still_seen(repo: Repo) -> None:
    repo.gen({"params.yaml": "train:\n  tags: !!set {a, b}\n"})
    repo.spec({"train": {"cmd": "echo x > out.txt", "params": ["train"],
                         "outs": ["out.txt"]}}, commit="pipeline")
    assert repo.run("repro").returncode == 0
    repo.gen({"params.yaml": "train:\n  tags: !!set {a, c}\n"})
    assert status_json(repo) == {"train": ["params: train.tags ['a', 'b'] -> ['a', 'c']"]}


def test_a_param_key_that_cannot_be_compared_is_a_clear_error(repo: Repo) -> None:
    repo.gen({"params.yaml": "train:\n  m: {.nan: a}\n"})
    repo.spec({"train": {"cmd": "echo x > out.txt", "params": ["train"],
                         "outs": ["out.txt"]}}, commit="pipeline")
    done = repo.run("status")
    assert done.returncode != 0
    assert "params.yaml: param 'train'.m: key nan is not a string or number" in done.stderr
    assert "Traceback" not in done.stderr


# -- declaration-only changes ----------------------------------------------------------

def _with_metric(repo: Repo, as_metric: bool) -> None:
    body = {"cmd": ran_cmd("train", "echo 1 > model.bin && echo '{\"acc\": 1}' > m.json"),
            "outs": ["model.bin"]}
    body["metrics" if as_metric else "outs"] = (["m.json"] if as_metric
                                               else ["model.bin", "m.json"])
    repo.spec({"train": body,
               "report": {"cmd": ran_cmd("report", "cat m.json > report.txt"),
                          "deps": ["m.json"], "outs": ["report.txt"]}})


def test_an_out_becoming_a_metric_and_back_is_re_recorded_without_running(repo: Repo) -> None:
    _with_metric(repo, as_metric=False)
    repo.commit("pipeline")
    assert repo.run("repro").returncode == 0
    assert sorted(repo.ran()) == ["report", "train"]
    for as_metric, kind in ((True, "a metric"), (False, "an out")):
        _with_metric(repo, as_metric)
        assert status_json(repo) == {
            "train": [f"outs: m.json declared as {kind} (re-recorded, no run)"], "report": []}
        done = repo.run("repro")
        assert done.returncode == 0, done.stderr
        assert "re-recorded train" in done.stdout
        assert repo.ran() == []
        lock = yaml.safe_load(repo.read("gitpipe.lock"))["stages"]["train"]
        assert {o["path"]: o.get("metric", False) for o in lock["outs"]} == {
            "model.bin": False, "m.json": as_metric}
        assert status_json(repo) == {"train": [], "report": []}


def test_env_and_wdir_changes_name_themselves(repo: Repo) -> None:
    repo.gen({"sub/.keep": ""})
    repo.spec({"a": {"cmd": "echo $X > out.txt", "env": {"X": "1"}, "outs": ["out.txt"]}},
              commit="pipeline")
    assert repo.run("repro").returncode == 0
    repo.spec({"a": {"cmd": "echo $X > out.txt", "env": {"X": "2"}, "outs": ["out.txt"]}})
    assert status_json(repo) == {"a": ["env changed"]}
    repo.spec({"a": {"cmd": "echo $X > out.txt", "env": {"X": "1"}, "wdir": "sub",
                     "outs": ["../out.txt"]}})
    assert status_json(repo) == {"a": ["wdir changed (. -> sub)"]}


def test_cluster_env_of_kubernetes_stages_is_in_their_fingerprint(repo: Repo) -> None:
    config = {"kubernetes": {"image": "python:3.12", "env": {"MODE": "fast"}}}
    repo.gen({".gitpipe/config.yaml": config, "out.txt": "made\n"})
    repo.spec({"k": {"cmd": "echo $MODE > out.txt", "outs": ["out.txt"],
                     "executor": "kubernetes"},
               "local": {"cmd": "echo x > l.txt", "outs": ["l.txt"]}}, commit="pipeline")
    assert repo.run("repro", "local").returncode == 0
    done = repo.run("commit", "k")
    assert done.returncode == 0, done.stderr
    assert status_json(repo) == {"k": [], "local": []}
    for changed in ({"env": {"MODE": "slow"}}, {"image": "python:3.13"}):
        repo.gen({".gitpipe/config.yaml": {"kubernetes": {**config["kubernetes"], **changed}}})
        assert status_json(repo) == {"k": ["executor settings changed"], "local": []}
    # the per-machine config reaches the pod too
    repo.gen({".gitpipe/config.yaml": config,
              ".gitpipe/config.local.yaml": {"kubernetes": {"env": {"TOKEN": "t"}}}})
    assert status_json(repo) == {"k": ["executor settings changed"], "local": []}
    assert "TOKEN" not in repo.read("gitpipe.lock") and "fast" not in repo.read("gitpipe.lock")


def test_a_lock_written_before_fingerprint_v2_still_holds(repo: Repo) -> None:
    from gitpipe.fingerprint import legacy_fingerprint

    repo.spec({"a": {"cmd": ran_cmd("a", "echo 1 > o.txt && echo 2 > m.json"),
                     "outs": ["o.txt"], "metrics": ["m.json"]}}, commit="pipeline")
    assert repo.run("repro").returncode == 0
    repo.ran()
    lock = yaml.safe_load(repo.read("gitpipe.lock"))
    entry = lock["stages"]["a"]
    task = repo.project().graph.nodes["a"]["task"]
    entry["fingerprint"] = legacy_fingerprint(
        task.cmd, (), {}, {}, [(o.path, o.is_dir, o.cache) for o in task.outs])
    for row in entry["outs"]:
        row.pop("metric", None)
    Path(repo.path / "gitpipe.lock").write_text(yaml.safe_dump(lock))
    assert status_json(repo) == {"a": []}
    assert repo.run("repro").returncode == 0
    assert repo.ran() == []

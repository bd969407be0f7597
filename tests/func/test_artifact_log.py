"""`gitpipe log PATH`: an artifact's history from git alone, newest first, with
the stage, command, params, deps and upstream chain of each version."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema

from tests.conftest import Repo
from tests.func.test_json import SCHEMA
from tests.security.conftest import assert_only_changed, snapshot

CHAIN = {
    "ingest": {"cmd": "cp raw.txt clean.txt", "deps": ["raw.txt"], "outs": ["clean.txt"]},
    "features": {"cmd": "cat clean.txt clean.txt > feats.txt", "deps": ["clean.txt"],
                 "outs": ["feats.txt"]},
    "train": {"cmd": "cat feats.txt params.yaml > model.txt", "deps": ["feats.txt"],
              "params": ["lr"], "outs": ["model.txt"]},
}


def ok(repo: Repo, *args: str) -> str:
    done = repo.run(*args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def chain(repo: Repo) -> Repo:
    """Four commits: model.txt changes at the first, second and fourth."""
    repo.spec(CHAIN)
    repo.gen({"params.yaml": {"lr": 0.1}, "raw.txt": "a\n"})
    ok(repo, "repro")
    repo.commit("first model")
    repo.gen({"params.yaml": {"lr": 0.2}})
    ok(repo, "repro")
    repo.commit("lr 0.2")
    repo.gen({"README": "words\n"}, commit="docs only")
    repo.gen({"raw.txt": "b\n"})
    ok(repo, "repro")
    repo.commit("new raw data")
    return repo


def log(repo: Repo, *args: str) -> dict[str, Any]:
    done = repo.run("log", *args, "--json", check=True)
    document = json.loads(done.stdout)
    jsonschema.validate(document, SCHEMA)
    assert (document["schema"], document["kind"]) == (1, "log")
    return document


def lock_at(repo: Repo, rev: str) -> dict[str, Any]:
    import yaml

    return yaml.safe_load(repo.git("show", f"{rev}:gitpipe.lock"))["stages"]


def test_each_commit_that_changed_the_out_is_listed_with_what_made_it(repo: Repo) -> None:
    chain(repo)
    before = snapshot(repo.path)
    document = log(repo, "model.txt")
    assert_only_changed(before, snapshot(repo.path))  # no checkout, nothing written
    versions = document["versions"]
    assert [v["subject"] for v in versions] == ["new raw data", "lr 0.2", "first model"]
    assert [v["params"] for v in versions] == [{"lr": 0.2}, {"lr": 0.2}, {"lr": 0.1}]
    newest = versions[0]
    locked = lock_at(repo, "HEAD")
    assert newest["commit"] == repo.git("rev-parse", "HEAD").strip()
    assert (newest["task"], newest["stage"], newest["partition"]) == ("train", "train", None)
    assert newest["cmd"] == CHAIN["train"]["cmd"]
    assert newest["hash"] == locked["train"]["outs"][0]["hash"]
    assert [(d["path"], d["hash"]) for d in newest["deps"]] == [
        (d["path"], d["hash"]) for d in locked["train"]["deps"]]
    [features] = newest["upstream"]
    assert (features["dep"], features["task"], features["hash"]) == (
        "feats.txt", "features", locked["features"]["outs"][0]["hash"])
    [ingest] = features["upstream"]
    assert (ingest["task"], ingest["hash"]) == ("ingest", locked["ingest"]["outs"][0]["hash"])
    assert ingest["upstream"] == []
    assert versions[2]["hash"] == lock_at(repo, "HEAD~3")["train"]["outs"][0]["hash"]
    # At a revision, and at most N.
    assert [v["subject"] for v in log(repo, "model.txt", "--rev", "HEAD~2")["versions"]] == [
        "lr 0.2", "first model"]
    assert [v["subject"] for v in log(repo, "model.txt", "-n", "1")["versions"]] == [
        "new raw data"]
    assert [v["subject"] for v in log(repo, "feats.txt")["versions"]] == [
        "new raw data", "first model"]


def test_the_text_output_names_commit_stage_command_params_and_upstream(repo: Repo) -> None:
    chain(repo)
    text = repo.run("log", "model.txt", check=True).stdout
    head = repo.git("rev-parse", "HEAD").strip()
    assert text.splitlines()[0].startswith(f"commit {head[:12]}")
    assert "    new raw data" in text and "  stage   train" in text
    assert "  params  lr=0.2" in text and f"  cmd     {CHAIN['train']['cmd']}" in text
    assert "    feats.txt <- features" in text and "      clean.txt <- ingest" in text
    assert text.count("commit ") == 3


def test_a_file_inside_a_directory_out_changes_only_when_it_does(repo: Repo,
                                                                 tmp_path: Path) -> None:
    repo.spec({"split": {"cmd": "mkdir -p parts && cp a.txt parts/a && cp b.txt parts/b",
                         "deps": ["a.txt", "b.txt"], "outs": ["parts"]}})
    repo.gen({"a.txt": "1\n", "b.txt": "1\n"})
    ok(repo, "repro")
    repo.commit("both")
    repo.gen({"b.txt": "2\n"})
    ok(repo, "repro")
    repo.commit("b only")
    assert [v["subject"] for v in log(repo, "parts")["versions"]] == ["b only", "both"]
    only_a = log(repo, "parts/a")
    assert [v["subject"] for v in only_a["versions"]] == ["both"]
    assert only_a["versions"][0]["out"] == "parts" and only_a["notes"] == []
    assert only_a["versions"][0]["hash"].startswith("xxh3:")
    assert not only_a["versions"][0]["hash"].endswith(".dir")
    assert [v["subject"] for v in log(repo, "parts/b")["versions"]] == ["b only", "both"]
    # A clone has no manifests in its cache: the directory's versions, and a note each.
    clone = repo.clone_to(tmp_path / "clone")
    cloned = log(clone, "parts/a")
    assert [v["subject"] for v in cloned["versions"]] == ["b only", "both"]
    assert [v["hash"] for v in cloned["versions"]] == [
        v["hash"] for v in log(repo, "parts")["versions"]]
    assert len(cloned["notes"]) == 2 and "the cache has no manifest of 'parts'" in \
        cloned["notes"][0]


def test_a_renamed_stage_is_a_version_of_its_own(repo: Repo) -> None:
    repo.spec({"make": {"cmd": "cp src.txt out.txt", "deps": ["src.txt"], "outs": ["out.txt"]}})
    repo.gen({"src.txt": "x\n"})
    ok(repo, "repro")
    repo.commit("made by make")
    repo.spec({"build": {"cmd": "cp src.txt out.txt", "deps": ["src.txt"],
                         "outs": ["out.txt"]}})
    ok(repo, "repro")
    repo.commit("renamed to build")
    versions = log(repo, "out.txt")["versions"]
    assert [(v["subject"], v["stage"]) for v in versions] == [
        ("renamed to build", "build"), ("made by make", "make")]
    assert versions[0]["hash"] == versions[1]["hash"]


def test_a_partition_is_named_and_a_merge_lists_only_what_it_changed(repo: Repo) -> None:
    repo.spec({"day": {"cmd": "echo ${date} $(cat seed.txt) > out/${date}.txt",
                       "deps": ["seed.txt"], "outs": ["out/${date}.txt"],
                       "partition": {"by": "date", "start": "2024-01-01",
                                     "end": "2024-01-02", "freq": "daily"}},
               "other": {"cmd": "cp o.txt o2.txt", "deps": ["o.txt"], "outs": ["o2.txt"]}})
    repo.gen({"seed.txt": "1\n", "o.txt": "1\n", "out/.keep": ""})
    ok(repo, "repro")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "side")
    repo.gen({"seed.txt": "2\n"})
    ok(repo, "repro")
    repo.commit("side: new seed")
    repo.git("checkout", "-q", "main")
    repo.gen({"o.txt": "2\n"})
    ok(repo, "repro")
    repo.commit("main: other")
    repo.git("merge", "-q", "--no-edit", "side")
    versions = log(repo, "out/2024-01-01.txt")["versions"]
    assert [(v["subject"], v["task"], v["partition"]) for v in versions] == [
        ("side: new seed", "day@2024-01-01", "2024-01-01"),
        ("base", "day@2024-01-01", "2024-01-01")]


def test_a_path_that_is_not_an_out_is_refused_with_a_hint(repo: Repo) -> None:
    chain(repo)
    done = repo.run("log", "modle.txt")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "'modle.txt' is not an out of any stage" in done.stderr
    assert "did you mean 'model.txt'?" in done.stderr
    document = json.loads(repo.run("log", "../x", "--json").stdout)
    assert document["error"]["message"] == "'../x' is not a path inside the project"
    unknown = repo.run("log", "model.txt", "--rev", "nope")
    assert unknown.returncode == 2 and "unknown revision 'nope'" in unknown.stderr


def test_a_stage_s_name_names_its_outs_and_its_runs(repo: Repo) -> None:
    """`gitpipe log train` (a stage, where a DVC user reads "the stage's log"):
    the hint names the command that takes its out, and `runs` for its runs."""
    chain(repo)
    done = repo.run("log", "train")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr == ("error: 'train' is a stage, not an out: 'gitpipe log' follows an "
                           "out's versions\nhint: gitpipe log model.txt (its out); "
                           "'gitpipe runs train' lists its runs\n"), done.stderr
    assert ok(repo, "log", "model.txt")


def test_an_out_never_committed_says_so(repo: Repo) -> None:
    repo.spec({"a": {"cmd": "echo 1 > a.txt", "outs": ["a.txt"]}}, commit="spec only")
    done = repo.run("log", "a.txt", check=True)
    assert done.stdout == ""
    assert "no commit's gitpipe.lock records it yet" in done.stderr


def test_the_modules_a_python_dep_stood_for_are_shown(repo: Repo) -> None:
    repo.gen({"src/train.py": "from utils import f\nopen('model.txt', 'w').write(f())\n",
              "src/utils.py": "def f():\n    return 'm'\n"})
    repo.spec({"train": {"cmd": "python3 src/train.py", "deps": [{"python": "src/train.py"}],
                         "outs": ["model.txt"]}})
    ok(repo, "repro")
    repo.commit("model")
    text = ok(repo, "log", "model.txt")
    assert "  python  src/train.py  " in text, text
    assert "src/utils.py" in text and "(imported by src/train.py)" in text
    modules = log(repo, "model.txt")["versions"][0]["python"]
    assert {m["path"] for m in modules} == {"src/train.py", "src/utils.py"}
    assert [m.get("imported_by") for m in modules if m["path"] == "src/utils.py"] == \
        ["src/train.py"]

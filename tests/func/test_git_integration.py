"""gitpipe inside git: status at a revision, diff, commit, hooks, watch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from gitpipe.usecases.watch import DEBOUNCE
from tests.conftest import GIT_ENV, Repo, ran_cmd


def built(repo: Repo) -> Repo:
    repo.gen({
        "data.csv": "1\n2\n",
        "params.yaml": {"train": {"lr": 0.1}},
        "src/prep.sh": "sort -r data.csv > clean.csv\n",
        "src/train.sh": "cat clean.csv clean.csv > model.txt\n",
    })
    repo.spec({
        "prep": {"cmd": ran_cmd("prep", "sh src/prep.sh"), "deps": ["src/prep.sh", "data.csv"],
                 "outs": ["clean.csv"]},
        "train": {"cmd": ran_cmd("train", "sh src/train.sh"),
                  "deps": ["src/train.sh", "clean.csv"], "params": ["train"],
                  "outs": ["model.txt"]},
    })
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.ran()
    repo.commit("v1")
    return repo


def stale_at(repo: Repo, rev: str) -> dict[str, list[str]]:
    done = repo.run("status", "--rev", rev, "--json")
    assert done.returncode == 0, done.stderr
    return {s["name"]: s["reasons"] for s in json.loads(done.stdout)["stages"] if s["stale"]}


def test_status_at_revisions_without_checkout(repo: Repo) -> None:
    built(repo)
    repo.gen({"src/train.sh": "cat clean.csv > model.txt\n"})
    repo.commit("code only")
    repo.gen({"src/train.sh": "cat clean.csv clean.csv > model.txt\n"})
    repo.gen({"params.yaml": {"train": {"lr": 0.7}}})
    repo.commit("params only")
    repo.commit("nothing")
    repo.git("checkout", "-q", "HEAD~3")  # back at v1: the work tree is v1's
    before = repo.git("status", "--porcelain")
    assert stale_at(repo, "main~2") == {"train": ["deps: src/train.sh modified"]}
    assert stale_at(repo, "main~1") == {"train": ["params: train.lr 0.1 -> 0.7"]}
    assert stale_at(repo, "main") == {"train": ["params: train.lr 0.1 -> 0.7"]}
    assert stale_at(repo, "HEAD") == {}
    assert repo.git("status", "--porcelain") == before
    assert repo.ran() == []


def test_status_at_revision_follows_upstream(repo: Repo) -> None:
    built(repo)
    repo.gen({"src/prep.sh": "sort data.csv > clean.csv\n"})
    repo.commit("prep changed")
    assert stale_at(repo, "HEAD") == {"prep": ["deps: src/prep.sh modified"],
                                      "train": ["upstream: prep"]}


def test_unknown_revision_is_bad_input(repo: Repo) -> None:
    built(repo)
    done = repo.run("status", "--rev", "nope")
    assert done.returncode == 2 and "unknown revision 'nope'" in done.stderr


def test_diff_between_commits(repo: Repo) -> None:
    built(repo)
    repo.gen({"params.yaml": {"train": {"lr": 0.7}}})
    repo.run("repro", check=True)
    repo.commit("v2")
    out = repo.run("diff", "HEAD~1", "HEAD", check=True).stdout
    assert "train:" in out and "params: train.lr 0.1 -> 0.7" in out
    assert "prep" not in out
    assert "no stage differs" in repo.run("diff", "HEAD", "HEAD", check=True).stdout


def test_commit_records_outs_made_by_hand(repo: Repo) -> None:
    built(repo)
    (repo.path / "model.txt").write_text("hand-made model\n")
    assert "outs: model.txt modified" in repo.run("status").stdout
    done = repo.run("commit", "train", check=True)
    assert "committed 1 stage: train" in done.stdout
    assert repo.run("status", "--check").returncode == 0
    assert repo.ran() == []
    (repo.path / "model.txt").unlink()
    repo.run("checkout", check=True)
    assert repo.read("model.txt") == "hand-made model\n"


def test_commit_leaves_the_run_cache_to_computed_results(repo: Repo) -> None:
    # The hand-made model is in the lock and the cache, but the run-cache entry
    # for train's inputs still names what the command computed: with the out
    # gone, repro restores the computed model, never the hand-made one.
    built(repo)
    computed = repo.read("model.txt")
    (repo.path / "model.txt").write_text("hand-made model\n")
    repo.run("commit", "train", check=True)
    (repo.path / "model.txt").unlink()
    done = repo.run("repro", check=True)
    assert "restored" in done.stdout and repo.ran() == []
    assert repo.read("model.txt") == computed


def install_hooks(repo: Repo) -> None:
    done = repo.run("hooks", "install", check=True)
    assert "installed pre-commit, pre-merge-commit, post-checkout, pre-push" in done.stdout


def git_commit(repo: Repo, message: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **GIT_ENV, "HOME": str(repo.path)}
    repo.git("add", "-A")
    return subprocess.run(["git", "commit", "-q", "-m", message], cwd=repo.path, env=env,
                          capture_output=True, text=True)


def test_pre_commit_refuses_a_lock_that_disagrees(repo: Repo) -> None:
    built(repo)
    install_hooks(repo)
    repo.gen({"params.yaml": {"train": {"lr": 0.9}}})
    refused = git_commit(repo, "params without repro")
    assert refused.returncode != 0
    # It names the param and both values in the words and layout of status.
    said = "  train:\n      params: train.lr 0.1 -> 0.9\n"
    assert said in refused.stderr and "gitpipe repro" in refused.stderr
    assert said.replace("  ", "") in repo.run("status").stdout.replace("  ", "")
    repo.run("repro", check=True)
    accepted = git_commit(repo, "params with repro")
    assert accepted.returncode == 0, accepted.stderr


def test_pre_commit_accepts_a_frozen_stage_as_status_does(repo: Repo) -> None:
    """A `frozen: true` stage that never ran (or whose cmd changed since) is
    not stale to status, and repro never runs it: the hook refused every
    commit of gitpipe.yaml with `download: not in gitpipe.lock` and a hint
    to run repro, which did nothing."""
    built(repo)
    install_hooks(repo)
    spec = repo.read("gitpipe.yaml") + (
        "  download:\n    cmd: echo got > got.txt\n    frozen: true\n    outs: [got.txt]\n")
    repo.gen({"gitpipe.yaml": spec})
    repo.run("repro", check=True)
    assert repo.run("status", "--check").returncode == 0
    accepted = git_commit(repo, "a frozen stage")
    assert accepted.returncode == 0, accepted.stderr
    repo.gen({"gitpipe.yaml": spec.replace("echo got", "echo fetched")})
    assert git_commit(repo, "its cmd changed").returncode == 0
    repo.gen({"params.yaml": {"train": {"lr": 0.9}}})
    refused = git_commit(repo, "params without repro")
    assert refused.returncode == 1 and "download" not in refused.stderr, refused.stderr


def test_pre_commit_groups_foreach_items_changed_alike_as_status_does(repo: Repo) -> None:
    repo.gen({"params.yaml": {"train": {"lr": 0.1}}})
    repo.spec({"train": {"foreach": ["a", "b", "c"], "do": {
        "cmd": "echo ${item} > model-${item}.txt", "params": ["train.lr"],
        "outs": ["model-${item}.txt"]}}})
    for args in (["init"], ["repro"], ["hooks", "install"]):
        repo.run(*args, check=True)
    assert git_commit(repo, "built").returncode == 0
    repo.gen({"params.yaml": {"train": {"lr": 0.2}}})
    refused = git_commit(repo, "params without repro")
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[1:3] == [
        "  train@a … c (3 of 3):", "      params: train.lr 0.1 -> 0.2"], refused.stderr
    assert "train@b" not in refused.stderr
    status = repo.run("status").stdout
    assert "train@a … c (3 of 3):\n    params: train.lr 0.1 -> 0.2\n" in status, status


@pytest.mark.parametrize("how", [["-a"], ["--", "params.yaml"]], ids=["commit -a", "commit path"])
def test_pre_commit_sees_what_commit_a_or_a_path_commit_stages(repo: Repo, how: list[str]) -> None:
    # git stages these into a temporary index named by GIT_INDEX_FILE; nothing
    # is staged in .git/index, yet the commit carries the params change.
    built(repo)
    install_hooks(repo)
    repo.gen({"params.yaml": {"train": {"lr": 0.9}}})
    env = {**os.environ, **GIT_ENV, "HOME": str(repo.path)}
    refused = subprocess.run(["git", "commit", "-q", "-m", "params", *how], cwd=repo.path,
                             env=env, capture_output=True, text=True)
    assert refused.returncode != 0
    assert "  train:\n      params: train.lr" in refused.stderr


def test_pre_commit_judges_what_is_committed_not_the_work_tree(repo: Repo) -> None:
    built(repo)
    install_hooks(repo)
    env = {**os.environ, **GIT_ENV, "HOME": str(repo.path)}

    def commit(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "commit", "-q", "-m", "c", *args], cwd=repo.path,
                              env=env, capture_output=True, text=True)

    # New params and a lock that matches them on disk, but only params.yaml
    # goes into the commit: the committed lock does not match it.
    repo.gen({"params.yaml": {"train": {"lr": 0.9}}})
    repo.run("repro", check=True)
    refused = commit("--", "params.yaml")
    assert refused.returncode != 0 and "  train:\n      params: train.lr" in refused.stderr
    # Both staged, then params edited again without staging: what is committed
    # agrees, so the commit goes through.
    repo.git("add", "params.yaml", "gitpipe.lock")
    repo.gen({"params.yaml": {"train": {"lr": 0.5}}})
    accepted = commit()
    assert accepted.returncode == 0, accepted.stderr
    assert "lr: 0.9" in repo.git("show", "HEAD:params.yaml")


def test_pre_commit_reads_untracked_params_from_the_work_tree(repo: Repo) -> None:
    # cfg.yaml is written by a stage (an ignored out): git never has it, so the
    # commit's judgement reads it where it is, and a consistent commit passes.
    repo.spec({
        "gen": {"cmd": "echo 'lr: 0.1' > cfg.yaml", "outs": ["cfg.yaml"]},
        "train": {"cmd": "echo trained > model.txt", "deps": ["cfg.yaml"],
                  "params": [{"cfg.yaml": ["lr"]}], "outs": ["model.txt"]},
    })
    repo.run("init", check=True)
    repo.run("repro", check=True)
    install_hooks(repo)
    accepted = git_commit(repo, "built")
    assert accepted.returncode == 0, accepted.stderr


def test_pre_commit_ignores_the_work_tree_spec(repo: Repo) -> None:
    built(repo)
    install_hooks(repo)
    env = {**os.environ, **GIT_ENV, "HOME": str(repo.path)}
    # A broken, unstaged gitpipe.yaml is not being committed.
    (repo.path / "gitpipe.yaml").write_text("stages: [\n")
    repo.gen({"README": "docs\n"})
    repo.git("add", "README")
    done = subprocess.run(["git", "commit", "-q", "-m", "docs"], cwd=repo.path, env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # A commit that removes the pipeline carries none to check.
    repo.git("rm", "-q", "--cached", "gitpipe.yaml", "gitpipe.lock")
    done = subprocess.run(["git", "commit", "-q", "-m", "no pipeline"], cwd=repo.path,
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_merge_without_conflicts_is_checked_too(repo: Repo) -> None:
    # git runs pre-merge-commit, not pre-commit, for a merge it makes itself.
    built(repo)
    install_hooks(repo)
    env = {**os.environ, **GIT_ENV, "HOME": str(repo.path)}
    repo.git("checkout", "-q", "-b", "side")
    repo.gen({"params.yaml": {"train": {"lr": 0.9}}})
    repo.git("add", "-A")
    repo.git("commit", "-q", "--no-verify", "-m", "params without repro")
    repo.git("checkout", "-q", "main")
    repo.gen({"README": "docs\n"}, commit="docs")
    merged = subprocess.run(["git", "merge", "--no-ff", "-m", "merge", "side"], cwd=repo.path,
                            env=env, capture_output=True, text=True)
    assert merged.returncode != 0
    assert "  train:\n      params: train.lr" in merged.stdout + merged.stderr


def test_pre_commit_ignores_commits_without_pipeline_changes(repo: Repo) -> None:
    built(repo)
    install_hooks(repo)
    (repo.path / "data.csv").write_text("changed\n")  # stale, but not a spec change
    repo.gen({"README": "docs\n"})
    assert git_commit(repo, "docs").returncode == 0


def test_hooks_chain_existing_ones_and_uninstall_restores(repo: Repo) -> None:
    built(repo)
    hook = repo.path / ".git/hooks/pre-commit"
    hook.write_text("#!/bin/sh\necho ran >> \"$(git rev-parse --show-toplevel)/old-hook.log\"\n")
    hook.chmod(0o755)
    install_hooks(repo)
    repo.gen({"README": "x\n"})
    assert git_commit(repo, "one").returncode == 0
    assert repo.read("old-hook.log") == "ran\n"
    repo.run("hooks", "install", "--uninstall", check=True)
    assert "old-hook.log" in hook.read_text()


def test_hooks_of_a_project_in_a_subdirectory_check_that_project(repo: Repo) -> None:
    # git runs hooks from the top of the work tree; the project is in sub/proj.
    repo.gen({"sub/proj/params.yaml": {"lr": 0.1}})
    repo.gen({"sub/proj/gitpipe.yaml": {"stages": {"train": {
        "cmd": "echo trained > model.txt", "params": ["lr"], "outs": ["model.txt"]}}}})
    for args in (["init"], ["repro"], ["hooks", "install"]):
        repo.run("-C", "sub/proj", *args, check=True)
    assert git_commit(repo, "built").returncode == 0
    repo.gen({"sub/proj/params.yaml": {"lr": 0.9}})
    refused = git_commit(repo, "params without repro")
    assert refused.returncode != 0 and "  train:\n      params: lr 0.1 -> 0.9" in refused.stderr


def test_hooks_path_is_respected(repo: Repo) -> None:
    built(repo)
    repo.git("config", "core.hooksPath", "githooks")
    install_hooks(repo)
    assert (repo.path / "githooks/pre-commit").exists()
    assert not (repo.path / ".git/hooks/pre-commit").exists()


def test_post_checkout_brings_outs_along(repo: Repo) -> None:
    built(repo)
    install_hooks(repo)
    repo.git("checkout", "-q", "-b", "experiment")
    repo.gen({"params.yaml": {"train": {"lr": 0.9}}, "src/train.sh": "echo other > model.txt\n"})
    repo.run("repro", check=True)
    repo.commit("experiment")
    assert repo.read("model.txt") == "other\n"
    repo.git("checkout", "-q", "main")
    assert repo.read("model.txt") == "2\n1\n2\n1\n"
    repo.git("checkout", "-q", "experiment")
    assert repo.read("model.txt") == "other\n"


def test_pre_push_pushes_outs_to_the_default_remote(repo: Repo, tmp_path) -> None:
    built(repo)
    repo.run("remote", "add", "-d", "store", str(tmp_path / "store"), check=True)
    repo.commit("remote")
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "origin.git")], check=True)
    repo.git("remote", "add", "origin", str(tmp_path / "origin.git"))
    install_hooks(repo)
    repo.git("push", "-q", "origin", "main")
    objects = list((tmp_path / "store/files").rglob("*"))
    assert len([p for p in objects if p.is_file()]) == 2


def test_hook_outside_a_gitpipe_project_exits_0(make_repo) -> None:
    plain = make_repo("plain")
    done = plain.run("hooks", "run", "pre-commit")
    assert done.returncode == 0 and done.stderr == ""


def test_repository_without_commits(repo: Repo) -> None:
    repo.gen({"in.txt": "x\n"})
    repo.spec({"s": {"cmd": "cp in.txt out.txt", "deps": ["in.txt"], "outs": ["out.txt"]}})
    assert repo.run("status").returncode == 0
    assert repo.run("repro").returncode == 0
    assert repo.run("status", "--check").returncode == 0


def test_detached_head_and_shallow_clone(repo: Repo, tmp_path) -> None:
    built(repo)
    repo.gen({"README": "x\n"}, commit="more")
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo.path}", str(shallow)],
                   check=True)
    clone = Repo(shallow, init=False)
    assert stale_at(clone, "HEAD") == {}
    clone.git("checkout", "-q", "--detach", "HEAD")
    assert clone.run("status", "--json").returncode == 0


@pytest.mark.parametrize("how", ["config", "update-index"])
def test_a_split_index_is_read_through_git(repo: Repo, how: str) -> None:
    # libgit2 cannot read an index with core.splitIndex ("unsupported mandatory
    # extension: 'link'"); status, repro and the hooks read it through git.
    # `git update-index --split-index` splits it with nothing in the config.
    if how == "config":
        repo.git("config", "core.splitIndex", "true")
    built(repo)
    if how == "update-index":
        repo.git("update-index", "--split-index")
    assert list(repo.path.joinpath(".git").glob("sharedindex.*")), "the index is not split"
    install_hooks(repo)
    done = repo.run("status", "--json")
    assert done.returncode == 0, done.stderr
    assert not any(stage["stale"] for stage in json.loads(done.stdout)["stages"])
    # A dep git tracks is locked by its blob id: the index said it is tracked.
    stages = yaml.safe_load(repo.read("gitpipe.yaml"))["stages"]
    repo.spec({**stages, "count": {"cmd": "wc -l src/prep.sh > count.txt",
                                   "deps": ["src/prep.sh"], "outs": ["count.txt"]}})
    done = repo.run("repro")
    assert done.returncode == 0, done.stderr
    deps = {dep.path: dep.digest for dep in repo.project().lock_entries["count"].deps}
    assert deps["src/prep.sh"] == "git:" + repo.git("rev-parse", "HEAD:src/prep.sh").strip()
    repo.commit("count")
    repo.gen({"src/prep.sh": "sort data.csv > clean.csv\n"})
    assert stale_at(repo, "HEAD") == {}
    project = repo.project()
    reasons = {task.task: [str(r) for r in task.reasons] for task in project.status().tasks}
    project.close()
    assert reasons["count"] == ["deps: src/prep.sh modified"]
    assert "deps: src/prep.sh modified" in reasons["prep"]
    repo.gen({"params.yaml": {"train": {"lr": 0.9}}})
    refused = git_commit(repo, "params without repro")
    assert refused.returncode != 0, refused.stderr
    assert "  train:\n      params: train.lr" in refused.stderr
    assert "Traceback" not in refused.stderr and "Exception ignored" not in refused.stderr
    repo.run("repro", check=True)
    accepted = git_commit(repo, "with repro")
    assert accepted.returncode == 0, accepted.stderr
    assert "Exception ignored" not in accepted.stderr


def test_git_ignored_dep_is_hashed_as_data(repo: Repo) -> None:
    repo.gen({".gitignore": "big.bin\n", "big.bin": "data\n"})
    repo.spec({"s": {"cmd": "cp big.bin out.bin", "deps": ["big.bin"], "outs": ["out.bin"]}},
              commit="spec")
    repo.run("repro", check=True)
    dep = repo.project().lock_entries["s"].deps[0]
    assert dep.digest.startswith("xxh3:") and dep.size == 5


@pytest.mark.slow
def test_watch_reruns_after_a_param_edit(repo: Repo) -> None:
    built(repo)
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "gitpipe", "watch"], cwd=repo.path,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    assert proc.stdout is not None
    assert "watching" in proc.stdout.readline()
    repo.gen({"params.yaml": {"train": {"lr": 0.3}}})
    deadline = time.monotonic() + 15
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen.append(line)
        if "1 ran" in line:
            break
    # Longer than the debounce: the lock the repro wrote and the log its stage
    # appended to would have set off a second run by now; they must not.
    time.sleep(3 * DEBOUNCE)
    proc.send_signal(signal.SIGINT)
    try:
        # Generous: it once took over 10 s on a loaded 2-CPU machine (the
        # observer's join is bounded by 5 s); a real hang still fails here.
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"watch did not stop on Ctrl-C; it printed: {[*seen, proc.stdout.read()]}")
    seen.append(proc.stdout.read())
    assert proc.returncode == 130, seen  # interrupted, as every command
    assert any("changed: params.yaml" in s for s in seen), seen
    assert "".join(seen).count("changed:") == 1, seen
    assert repo.ran() == ["train"]
    assert repo.run("status", "--check").returncode == 0


@pytest.mark.slow
def test_pre_commit_framework_try_repo(repo: Repo, tmp_path) -> None:
    """The project's own .pre-commit-hooks.yaml, installed by pre-commit into its own venv."""
    from pathlib import Path

    project_root = Path(__file__).parents[2]
    built(repo)
    env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
           "HOME": str(tmp_path)}

    def try_repo(hook: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pre_commit", "try-repo",
                               str(project_root), hook, "--all-files"], cwd=repo.path,
                              env=env, capture_output=True, text=True, timeout=600)

    ok = try_repo("gitpipe-validate")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert try_repo("gitpipe-lock").returncode == 0
    repo.gen({"params.yaml": {"train": {"lr": 0.5}}})
    stale = try_repo("gitpipe-status")
    assert stale.returncode != 0
    assert "params: train.lr 0.1 -> 0.5" in stale.stdout
    mismatch = try_repo("gitpipe-lock")
    assert mismatch.returncode != 0 and "  train:\n      params: train.lr" in mismatch.stdout


def test_submodule_dep_is_hashed_by_content(make_repo) -> None:
    lib = make_repo("lib")
    lib.gen({"util.sh": "echo v1\n"}, commit="lib v1")
    app = make_repo("app")
    app.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib.path), "lib")
    app.spec({"use": {"cmd": "sh lib/util.sh > out.txt", "deps": ["lib/util.sh"],
                      "outs": ["out.txt"]}}, commit="app")
    assert app.run("repro").returncode == 0
    assert app.read("out.txt") == "v1\n"
    assert app.run("status", "--check").returncode == 0
    (app.path / "lib/util.sh").write_text("echo v2\n")
    assert "deps: lib/util.sh modified" in app.run("status").stdout
    app.run("repro", check=True)
    assert app.read("out.txt") == "v2\n"


def test_a_lock_with_merge_conflict_markers_says_how_to_settle_it(repo: Repo) -> None:
    built(repo)
    repo.git("checkout", "-q", "-b", "other")
    repo.gen({"data.csv": "3\n"})
    repo.run("repro", check=True)
    repo.commit("other data")
    repo.git("checkout", "-q", "main")
    repo.gen({"params.yaml": {"train": {"lr": 0.2}}})
    repo.run("repro", check=True)
    repo.commit("lr 0.2")
    merged = subprocess.run(["git", "merge", "-q", "other"], cwd=repo.path, capture_output=True,
                            text=True, env={**os.environ, **GIT_ENV})
    assert merged.returncode != 0 and "<<<<<<< " in repo.read("gitpipe.lock")
    done = repo.run("status")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "gitpipe.lock: holds git's merge conflict markers" in done.stderr, done.stderr
    assert "git checkout --ours gitpipe.lock" in done.stderr
    repo.git("checkout", "--ours", "gitpipe.lock")
    repo.ran()
    done = repo.run("repro", check=True)
    # The other side's data: prep ran with it there (restored), train runs anew.
    assert repo.ran() == ["train"] and "restored prep" in done.stdout, done.stdout
    assert repo.run("status").stdout.strip().endswith("up to date")


@pytest.mark.parametrize("args", [("params", "diff"), ("status", "--rev", "HEAD"), ("diff",)])
def test_commands_comparing_with_head_say_there_is_no_commit_yet(repo: Repo,
                                                                 args: tuple[str, ...]) -> None:
    repo.spec({"a": {"cmd": "echo a > a.txt", "outs": ["a.txt"], "params": ["x"]}})
    repo.gen({"params.yaml": {"x": 1}})
    done = repo.run(*args)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "the repository has no commits yet" in done.stderr, done.stderr

"""One suite, every remote kind (a local folder, S3 through moto's real HTTP server):
push from one clone, pull into another, nothing is recomputed, nothing corrupt is used."""

from __future__ import annotations

from pathlib import Path

from gitpipe.engine.reports import ReproOptions
from gitpipe.engine.scheduler import Outcome
from gitpipe.storage.remote import object_key
from tests.conftest import Repo, ran_cmd

STAGES = {
    "prep": {"cmd": ran_cmd("prep", "mkdir -p data && sort raw.txt > data/clean.txt && "
                                    "echo extra > data/extra.txt"),
             "deps": ["raw.txt"], "outs": ["data/"]},
    "train": {"cmd": ran_cmd("train", "cat data/clean.txt data/clean.txt > model.bin"),
              "deps": ["data/"], "params": ["lr"], "outs": ["model.bin"]},
}


def origin(make_repo, remote_url: str) -> Repo:
    repo = make_repo("origin")
    repo.gen({"raw.txt": "b\na\n", "params.yaml": {"lr": 0.1}})
    repo.spec(STAGES)
    repo.run("init", check=True)
    repo.run("remote", "add", "--default", "store", remote_url, check=True)
    # Every well-formed run-cache entry is trusted here; signed ones, on every
    # remote kind: tests/security/test_signed.py.
    repo.run("remote", "modify", "store", "trust", "any", check=True)
    repo.commit("pipeline")
    return repo


def clone(source: Repo, name: str = "laptop") -> Repo:
    return source.clone_to(source.path.parent / name)


def tamper_with_the_model(ci: Repo) -> str:
    """Overwrite train's out on the remote with other bytes; its digest."""
    digest = ci.project().lock_entries["train"].outs[0].digest
    remote = ci.project().remote()
    with remote.fs.open(remote.full(object_key(digest)), "wb") as handle:
        handle.write(b"tampered")
    return str(digest)


def test_push_then_pull_in_a_clone_recomputes_nothing(make_repo, remote_url: str) -> None:
    ci = origin(make_repo, remote_url)
    assert ci.run("repro", check=True).returncode == 0
    pushed = ci.run("push", check=True)
    # clean.txt, extra.txt, the manifest of data/, model.bin; one run entry per stage
    assert "pushed 4 object(s) and 2 run-cache entries" in pushed.stdout
    again = ci.run("push", check=True)
    assert "pushed 0 object(s) and 0 run-cache entries" in again.stdout
    ci.commit("results")

    laptop = clone(ci)
    done = laptop.run("pull", check=True)
    assert "checked out 2 out(s)" in done.stdout
    assert laptop.read("model.bin") == "a\nb\na\nb\n"
    assert laptop.read("data/extra.txt") == "extra\n"
    status = laptop.run("status", "--check")
    assert status.returncode == 0, status.stdout
    laptop.run("repro", check=True)
    assert laptop.ran() == []


def test_remote_run_cache_restores_instead_of_running(make_repo, remote_url: str) -> None:
    ci = origin(make_repo, remote_url)
    ci.run("repro", "--push", check=True)
    ci.gen({"params.yaml": {"lr": 0.5}})
    ci.run("repro", "--push", check=True)
    ci.ran()
    ci.gen({"params.yaml": {"lr": 0.1}})
    ci.commit("back to 0.1; lock not updated on purpose")

    laptop = clone(ci)
    report = laptop.project().repro(options=ReproOptions(pull=True))
    outcomes = {r.task: r.outcome for r in report.results}
    assert outcomes == {"prep": Outcome.RESTORED, "train": Outcome.RESTORED}
    assert laptop.ran() == []
    assert laptop.read("model.bin") == "a\nb\na\nb\n"


def test_corrupt_remote_object_is_refused(make_repo, remote_url: str) -> None:
    ci = origin(make_repo, remote_url)
    ci.run("repro", check=True)
    ci.run("push", check=True)
    ci.commit("results")
    digest = tamper_with_the_model(ci)

    laptop = clone(ci)
    done = laptop.run("pull")
    assert done.returncode != 0
    assert "is corrupt" in done.stderr and "Traceback" not in done.stderr
    assert not (laptop.path / "model.bin").exists()
    assert not laptop.project().cache.has(digest)
    # The corrupt object stops its own out only: prep's data/ is checked out.
    assert "checked out the other 1 out(s)" in done.stderr
    assert laptop.read("data/clean.txt") == "a\nb\n"
    # repro --pull does what a missing object makes it do: it runs the stage
    # (said on stderr), instead of failing on an object it could not use.
    repro = laptop.run("repro", "--pull")
    assert repro.returncode == 0, repro.stdout + repro.stderr
    assert "warning train:" in repro.stderr and "is corrupt" in repro.stderr
    assert laptop.ran() == ["train"]
    assert laptop.read("model.bin") == "a\nb\na\nb\n"


def test_fsck_remote_finds_repairs_and_push_replaces(make_repo, remote_url: str) -> None:
    # push checks objects by name only: a damaged object stayed on the remote
    # and every clone's pull failed on it. fsck --remote finds it, --repair
    # deletes it, a push from a good copy puts it back.
    ci = origin(make_repo, remote_url)
    ci.run("repro", "--push", check=True)
    ci.commit("results")
    digest = tamper_with_the_model(ci)
    assert "pushed 0 object(s)" in ci.run("push", check=True).stdout  # not seen by push

    found = ci.run("fsck", "--remote", "store")
    assert found.returncode == 1, found.stdout + found.stderr
    assert f"bad: {digest}" in found.stdout and "checked 4 object(s): 1 bad" in found.stdout
    repaired = ci.run("fsck", "--remote", "store", "--repair", check=True)
    assert f"removed: {digest}" in repaired.stdout and "1 lock out(s) missing" in repaired.stdout
    assert "pushed 1 object(s)" in ci.run("push", check=True).stdout
    assert "0 bad" in ci.run("fsck", "--remote", "store", check=True).stdout

    laptop = clone(ci)
    laptop.run("pull", check=True)
    assert laptop.read("model.bin") == "a\nb\na\nb\n"


def test_missing_remote_object_names_the_stage(make_repo, remote_url: str) -> None:
    ci = origin(make_repo, remote_url)
    ci.run("repro", check=True)
    ci.commit("results, never pushed")
    laptop = clone(ci)
    done = laptop.run("pull")
    assert done.returncode == 1
    assert "model.bin (stage 'train'" in done.stderr


def test_pull_checks_out_what_the_remote_has_then_names_what_it_lacks(
        make_repo, remote_url: str) -> None:
    # Only prep's outs were pushed: pull restores data/ and fails on model.bin
    # (it fetched everything and checked out nothing before).
    ci = origin(make_repo, remote_url)
    ci.run("repro", check=True)
    ci.run("push", "prep", check=True)
    ci.commit("results, train's never pushed")
    laptop = clone(ci)
    done = laptop.run("pull")
    assert done.returncode == 1
    assert "model.bin (stage 'train'" in done.stderr and "checked out the other 1" in done.stderr
    assert laptop.read("data/clean.txt") == "a\nb\n"
    assert not (laptop.path / "model.bin").exists()


def test_a_failed_pull_names_only_what_the_work_tree_lacks(make_repo, remote_url: str) -> None:
    # A metrics file is in git: the clone has it as the lock records it, and
    # a pull with nothing else missing succeeds without its object. When
    # another out was missing too, the error listed the metrics file beside it.
    ci = origin(make_repo, remote_url)
    ci.spec({**STAGES, "score": {"cmd": "echo '{\"acc\": 1}' > m.json", "deps": ["model.bin"],
                                 "metrics": ["m.json"]}})
    ci.run("repro", check=True)
    ci.run("push", "prep", check=True)
    ci.commit("results, train's and score's never pushed")
    laptop = clone(ci)
    assert laptop.read("m.json") == '{"acc": 1}\n'
    done = laptop.run("pull")
    assert done.returncode == 1
    listed = [line for line in done.stderr.splitlines() if line.startswith("  ")]
    assert len(listed) == 1 and listed[0].startswith("  model.bin (stage 'train'"), done.stderr
    assert done.stderr.startswith("error: 1 out(s) are not in remote 'store'"), done.stderr


def test_interrupted_push_resumes(make_repo, remote_url: str) -> None:
    ci = origin(make_repo, remote_url)
    ci.run("repro", check=True)
    # Push only train's objects, as if the push of prep's directory was cut off.
    ci.run("push", "train", check=True)
    done = ci.run("push", check=True)
    assert "pushed 3 object(s) and 1 run-cache entry" in done.stdout
    assert "1 already there" in done.stdout
    ci.commit("results")
    laptop = clone(ci)
    laptop.run("pull", check=True)
    assert laptop.read("data/clean.txt") == "a\nb\n"


def test_remote_gc_keeps_what_history_needs(make_repo, remote_url: str) -> None:
    ci = origin(make_repo, remote_url)
    ci.run("repro", "--push", check=True)
    ci.commit("v1")
    old = ci.project().lock_entries["train"].outs[0].digest
    ci.gen({"raw.txt": "c\nd\n"})
    ci.run("repro", "--push", check=True)
    ci.commit("v2")
    ci.own_remote()
    remote = ci.project().remote()
    before = remote.listing("files")
    kept = ci.run("gc", "--remote", "store", "--all-commits", "--yes", check=True)
    assert "removed 0 object(s)" in kept.stdout
    dropped = ci.run("gc", "--remote", "store", "--workspace", "--yes", check=True)
    assert "removed 3 object(s)" in dropped.stdout  # v1's clean.txt, manifest, model
    after = remote.listing("files")
    value = old.split(":")[1]
    assert f"files/xxh3/{value[:2]}/{value[2:]}" in before - after


def test_noop_push_of_a_few_objects_lists_nothing(make_repo, tmp_path: Path) -> None:
    ci = origin(make_repo, str(tmp_path / "store"))
    ci.run("repro", check=True)
    ci.run("push", check=True)
    remote = ci.project().remote()
    calls = []
    original = remote.fs.find
    remote.fs.find = lambda *a, **k: calls.append(a) or original(*a, **k)
    from gitpipe.usecases.transfer import push_outs

    summary = push_outs(ci.project(), remote)
    # A few objects are looked up one by one: no listing of files/ or runs/.
    assert summary.files == 0 and calls == []


def test_status_cloud_says_what_each_side_holds(make_repo, remote_url: str) -> None:
    # status -c asks the remote as a pull does (packs and listings): a
    # directory out is on the remote only once its manifest and files are.
    ci = origin(make_repo, remote_url)
    ci.run("repro", check=True)
    ci.run("push", "train", check=True)
    half = ci.run("status", "-c", "--check")
    assert half.returncode == 1 and half.stdout.splitlines() == [
        "new: in the local cache, not on remote 'store' ('gitpipe push' uploads them):",
        "    data/ (prep)"], half.stdout
    ci.run("push", check=True)
    assert ci.run("status", "-c", "--check", check=True).stdout.startswith(
        "the local cache and remote 'store' hold all 2 out(s)")
    ci.commit("results")
    laptop = clone(ci)
    assert laptop.run("status", "-c").stdout.splitlines() == [
        "deleted: on remote 'store', not in the local cache ('gitpipe pull' fetches them):",
        "    data/ (prep)", "    model.bin (train)"]

"""`repro --downstream` and `repro --allow-missing`, in real repositories with a
folder remote."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Repo, ran_cmd

CHAIN = {
    "a": {"cmd": ran_cmd("a", "echo a > a.txt"), "outs": ["a.txt"]},
    "b": {"cmd": ran_cmd("b", "cat a.txt > b.txt"), "deps": ["a.txt"], "outs": ["b.txt"]},
    "c": {"cmd": ran_cmd("c", "cat b.txt c.in > c.txt"), "deps": ["b.txt", "c.in"],
          "outs": ["c.txt"]},
    "other": {"cmd": ran_cmd("other", "echo o > o.txt"), "outs": ["o.txt"]},
}


def test_downstream_runs_the_target_and_its_dependents_not_its_inputs(repo: Repo) -> None:
    repo.gen({"c.in": "c\n"}).spec(CHAIN, commit="chain")
    repo.run("repro", check=True)
    repo.ran()
    repo.gen({"a.txt": "edited by hand\n", "c.in": "c2\n"})
    dry = repo.run("repro", "--dry-run", "--downstream", "b", check=True)
    assert "would run b" in dry.stdout and "would run c" in dry.stdout
    assert "would run a" not in dry.stdout and "other" not in dry.stdout
    repo.run("repro", "--downstream", "b", check=True)
    assert repo.ran() == ["b", "c"], "a (stale: its out was edited) is not what b needs here"
    assert repo.read("b.txt") == "edited by hand\n"
    assert "a:" in repo.run("status").stdout, "a stays stale for a plain repro"
    repo.run("repro", check=True)  # a and b come back from the run-cache
    assert repo.read("b.txt") == "a\n" and repo.run("status", "--check").returncode == 0


def _pushed_clone(repo: Repo, tmp_path: Path) -> Repo:
    repo.gen({"c.in": "c\n"}).spec(CHAIN)
    return repo.pushed_clone(tmp_path / "clone", tmp_path / "store")


def test_allow_missing_leaves_unpulled_stages_alone(repo: Repo, tmp_path: Path) -> None:
    clone = _pushed_clone(repo, tmp_path)
    assert "would run a:" in clone.run("repro", "--dry-run").stdout, "without the flag"
    dry = clone.run("repro", "--dry-run", "--allow-missing", check=True)
    assert "nothing would run" in dry.stdout, dry.stdout
    clone.run("repro", "--allow-missing", check=True)
    assert clone.ran() == []
    assert not (clone.path / "a.txt").exists(), "nothing pulled, nothing run"
    assert clone.run("status", "--check").returncode == 1, "plain status still says stale"

    clone.gen({"c.in": "changed\n"})
    # c's input changed, but b.txt, which it reads, is left unpulled: the run
    # refuses c, and the dry run says so beforehand.
    dry = clone.run("repro", "--dry-run", "--allow-missing")
    assert "would fail c: deps: b.txt missing; deps: c.in modified" in dry.stdout, dry.stdout
    assert "would run a" not in dry.stdout and "would run b" not in dry.stdout
    done = clone.run("repro", "--allow-missing")
    assert dry.returncode == done.returncode == 1
    said = dry.stderr.splitlines()[-2:]
    assert said == done.stderr.splitlines()[-2:], (dry.stderr, done.stderr)
    assert said[0] == "error: gitpipe.yaml:12: stage 'c': dependency 'b.txt' does not exist", said


def test_allow_missing_runs_what_the_remote_does_not_have(repo: Repo, tmp_path: Path) -> None:
    clone = _pushed_clone(repo, tmp_path)
    for path in (tmp_path / "store").rglob("*"):
        if path.is_file() and path.read_bytes() == b"a\n":
            path.unlink()  # the remote lost a.txt's object
    dry = clone.run("repro", "--dry-run", "--allow-missing", check=True)
    assert "would run a" in dry.stdout and "would run b" in dry.stdout, dry.stdout
    assert "would run other" not in dry.stdout
    done = clone.run("repro", "--allow-missing", check=True)
    # b's inputs match its lock entry once a ran, and its out's bytes (a.txt's) are
    # in the cache: it comes back as the lock records it.
    assert sorted(clone.ran()) == ["a", "c"] and "restored b" in done.stdout, done.stdout
    assert clone.read("c.txt") == "a\nc\n"


def test_allow_missing_does_not_seal_plain_repro(repo: Repo, tmp_path: Path) -> None:
    clone = _pushed_clone(repo, tmp_path)
    clone.age()
    clone.run("repro", "--allow-missing", check=True)
    clone.run("repro", "--allow-missing", check=True)
    done = clone.run("repro", check=True)
    assert sorted(clone.ran()) == ["a", "c", "other"] and "restored b" in done.stdout


def test_allow_missing_runs_a_stage_whose_input_changed(repo: Repo, tmp_path: Path) -> None:
    """b recorded a.txt v1; the lock's a now makes v2 (pushed): a pull would
    bring v2, which b never saw, so b is not left alone."""
    repo.gen({"c.in": "c\n"}).spec(CHAIN)
    repo.run("remote", "add", "-d", "store", str(tmp_path / "store"), check=True)
    repo.run("repro", check=True)
    spec = {**CHAIN, "a": {"cmd": ran_cmd("a", "echo v2 > a.txt"), "outs": ["a.txt"]}}
    repo.spec(spec)
    repo.run("repro", "a", check=True)
    repo.run("push", check=True)
    repo.commit("a at v2, b not rerun")
    clone = repo.clone_to(tmp_path / "clone")
    # b is stale, but a is left unpulled and a.txt is not here: the run refuses b.
    dry = clone.run("repro", "--dry-run", "--allow-missing")
    assert "would fail b: deps: a.txt missing" in dry.stdout, dry.stdout
    assert "would not run c: upstream 'b' would fail" in dry.stdout, dry.stdout
    assert "would run a:" not in dry.stdout
    done = clone.run("repro", "--allow-missing")
    assert dry.returncode == done.returncode == 1 and "failed b" in done.stdout, done.stdout

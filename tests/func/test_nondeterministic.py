"""`deterministic: false`: such a stage is never restored from the run-cache
(a remote's or its own), its dependents rerun whenever it runs (no early
cutoff), status says so, and declaring it alone reruns nothing."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Repo, ran_cmd

# `sort -u` makes the same out from data that only gains a duplicate line:
# the case where early cutoff would stop the dependent.
UNIQ = {"cmd": ran_cmd("uniq", "sort -u data.txt > u.txt"), "deps": ["data.txt"],
        "outs": ["u.txt"]}
AFTER = {"cmd": ran_cmd("after", "cat u.txt > after.txt"), "deps": ["u.txt"],
         "outs": ["after.txt"]}


def two_stages(repo: Repo, deterministic: bool) -> Repo:
    flag = {} if deterministic else {"deterministic": False}
    repo.gen({"data.txt": "b\na\n"})
    repo.spec({"uniq": {**UNIQ, **flag}, "after": AFTER})
    repo.run("init", check=True)
    repo.commit("pipeline")
    repo.run("repro", check=True)
    repo.commit("built")
    assert repo.ran() == ["uniq", "after"]
    return repo


def test_its_dependents_rerun_even_when_its_outs_are_the_same(repo: Repo) -> None:
    two_stages(repo, deterministic=False)
    repo.gen({"data.txt": "b\na\na\n"})
    status = repo.run("status").stdout
    assert "non-deterministic: downstream reruns whenever it runs" in status
    done = repo.run("repro", check=True)
    assert repo.ran() == ["uniq", "after"], done.stdout
    assert "running after: upstream: uniq" in done.stdout
    assert repo.run("status", "--check").returncode == 0


def test_a_deterministic_stage_cuts_off_its_dependents(repo: Repo) -> None:
    two_stages(repo, deterministic=True)
    repo.gen({"data.txt": "b\na\na\n"})
    repo.run("repro", check=True)
    assert repo.ran() == ["uniq"]


def test_declaring_the_flag_alone_reruns_nothing(repo: Repo) -> None:
    two_stages(repo, deterministic=True)
    repo.spec({"uniq": {**UNIQ, "deterministic": False}, "after": AFTER})
    assert repo.run("status", "--check").returncode == 0
    done = repo.run("repro", check=True)
    assert repo.ran() == [] and "nothing" not in done.stderr
    repo.spec({"uniq": UNIQ, "after": AFTER})
    assert repo.run("status", "--check").returncode == 0


def test_the_flag_is_validated(repo: Repo) -> None:
    repo.spec({"uniq": {**UNIQ, "deterministic": "no"}})
    done = repo.run("validate")
    assert done.returncode == 2
    assert "stage 'uniq': 'deterministic' must be true or false, not 'no'" in done.stderr
    assert "gitpipe.yaml:" in done.stderr and "Traceback" not in done.stderr


def test_never_restored_from_its_own_run_cache(repo: Repo) -> None:
    two_stages(repo, deterministic=False)
    repo.gen({"data.txt": "c\n"})
    repo.run("repro", check=True)
    repo.ran()
    repo.gen({"data.txt": "b\na\n"})  # inputs the cache has a run of
    done = repo.run("repro", check=True)
    assert "restored" not in done.stdout and repo.ran() == ["uniq", "after"]


def test_never_restored_from_a_remote_run_cache(make_repo, tmp_path: Path) -> None:
    """Beside a deterministic stage, which `repro --pull` restores."""
    origin = make_repo("origin")
    origin.gen({"data.txt": "b\na\n"})
    pure = {"cmd": ran_cmd("pure", "sort data.txt > p.txt"), "deps": ["data.txt"],
            "outs": ["p.txt"]}
    origin.spec({"uniq": {**UNIQ, "deterministic": False}, "pure": pure})
    origin.run("init", check=True)
    origin.run("remote", "add", "-d", "store", str(tmp_path / "store"), check=True)
    # Restoring from a remote needs a trusted entry: this remote trusts any
    # well-formed one, so only the flag decides what is restored.
    origin.run("remote", "modify", "store", "trust", "any", check=True)
    origin.commit("pipeline")
    origin.run("repro", "--push", check=True)
    origin.commit("built")
    clone = origin.clone_to(tmp_path / "clone")
    done = clone.run("repro", "--pull", check=True)
    assert clone.ran() == ["uniq"], done.stdout
    assert "pure    restored" in done.stdout or "restored pure" in done.stdout, done.stdout
    assert clone.read("u.txt") == "a\nb\n"

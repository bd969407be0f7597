"""What a newcomer meets: git-ignore rules that hide only partitions, errors
whose hint unblocks, a fresh clone told to pull, tables with headers."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.conftest import GIT_ENV, Repo

DAYS = {"start": "2024-01-01", "end": "2024-01-03"}
EXACT = "/data/raw/[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9].csv"


def ignored(repo: Repo, *paths: str) -> set[str]:
    """What `git check-ignore` says git ignores among `paths`."""
    done = subprocess.run(["git", "check-ignore", *paths], cwd=repo.path, capture_output=True,
                          text=True, env={**GIT_ENV, "PATH": "/usr/bin:/bin"})
    return set(done.stdout.split())


def partitioned(repo: Repo, freq: str = "daily") -> Repo:
    spec = {"by": "date", **DAYS} if freq == "daily" else \
        {"by": "date", "start": "2024-01-01T00", "end": "2024-01-01T02", "freq": "hourly"}
    repo.spec({"raw": {"partition": spec, "cmd": "mkdir -p data/raw && echo ${date} > "
                       "data/raw/${date}.csv", "outs": ["data/raw/${date}.csv"]}})
    repo.run("init", check=True)
    return repo


def test_partitioned_outs_are_ignored_and_a_hand_made_file_beside_them_is_not(
        repo: Repo) -> None:
    partitioned(repo)
    repo.run("repro", check=True)
    assert repo.read(".gitignore").splitlines() == [EXACT]
    repo.gen({"data/raw/lookup.csv": "a,b\n", "data/raw/2024-01-01.csv.bak": "old\n"})
    assert ignored(repo, "data/raw/2024-01-02.csv", "data/raw/lookup.csv",
                   "data/raw/2024-01-01.csv.bak") == {"data/raw/2024-01-02.csv"}
    status = repo.git("status", "--porcelain", "--untracked-files=all")
    assert "?? data/raw/lookup.csv" in status and "2024-01-02.csv\n" not in status


def test_hourly_partitions_are_ignored_by_their_own_shape(repo: Repo) -> None:
    partitioned(repo, "hourly")
    repo.run("repro", check=True)
    repo.gen({"data/raw/2024-01-01.csv": "a day, by hand\n"})
    assert ignored(repo, "data/raw/2024-01-01T01.csv", "data/raw/2024-01-01.csv") == {
        "data/raw/2024-01-01T01.csv"}


def test_the_loose_rule_of_an_older_gitpipe_is_replaced_where_it_stands(repo: Repo) -> None:
    repo.gen({".gitignore": "# mine\n/data/raw/*.csv\n/notes/\n"})
    partitioned(repo)
    assert repo.read(".gitignore") == f"# mine\n{EXACT}\n/notes/\n"


def test_outside_git_the_hint_says_git_init_then_gitpipe_init(tmp_path: Path) -> None:
    bare = Repo(tmp_path / "plain", init=False)
    bare.path.mkdir()
    done = bare.run("status")
    assert done.returncode == 2 and "not inside a git repository" in done.stderr
    assert "hint: a gitpipe project is a git repository: run 'git init', then 'gitpipe init', " \
           "and write gitpipe.yaml by hand" in done.stderr
    assert "Traceback" not in done.stderr


def test_after_init_a_missing_gitpipe_yaml_shows_a_first_stage(repo: Repo) -> None:
    repo.run("init", check=True)
    done = repo.run("repro")
    assert done.returncode == 2 and "gitpipe.yaml: file does not exist" in done.stderr
    hint = next(line for line in done.stderr.splitlines() if line.startswith("hint: "))
    assert "written by hand" in hint and "docs/getting-started.md" in hint
    # The stage the hint shows is one that runs.
    first = hint.split("a first stage is '")[1].split("'")[0]
    repo.gen({"gitpipe.yaml": first + "\n"})
    assert repo.run("repro", check=True).returncode == 0 and repo.read("hello.txt") == "hello\n"


def built_and_pushed(repo: Repo, tmp_path: Path) -> Repo:
    repo.spec({"make": {"cmd": "echo made > made.txt", "outs": ["made.txt"]},
               "use": {"cmd": "cat made.txt > used.txt", "deps": ["made.txt"],
                       "outs": ["used.txt"]}})
    repo.run("init", check=True)
    return repo.pushed_clone(tmp_path / "clone", tmp_path / "store")


def test_a_fresh_clone_is_told_to_pull_once(repo: Repo, tmp_path: Path) -> None:
    clone = built_and_pushed(repo, tmp_path)
    out = clone.run("status").stdout.splitlines()
    assert "    outs: made.txt missing" in out and "    outs: used.txt missing" in out
    hints = [line for line in out if line.startswith("hint: ")]
    assert hints == ["hint: outs that gitpipe.lock records are missing and not in the local "
                     "cache: 'gitpipe pull' fetches them from the remote, 'gitpipe repro' "
                     "rebuilds them"]
    clone.run("pull", check=True)
    assert clone.run("status").stdout == "everything is up to date\n"


def test_without_a_remote_missing_outs_point_at_checkout_and_repro(repo: Repo) -> None:
    """An out deleted here is in the local cache: `checkout` puts it back (what
    a DVC user runs), and the hint names it before `repro`."""
    repo.spec({"make": {"cmd": "echo made > made.txt", "outs": ["made.txt"]}})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    (repo.path / "made.txt").unlink()
    out = repo.run("status").stdout
    assert out.endswith("hint: outs that gitpipe.lock records are missing: 'gitpipe checkout' "
                        "puts them back from the local cache, 'gitpipe repro' rebuilds them "
                        "('gitpipe remote add' names a remote to pull them from)\n"), out
    repo.run("checkout", check=True)
    assert repo.run("status").stdout == "everything is up to date\n"


def test_after_a_git_checkout_status_points_at_gitpipe_checkout(repo: Repo) -> None:
    repo.spec({"make": {"cmd": "cp params.yaml made.txt", "params": ["n"],
                        "outs": ["made.txt"]},
               "use": {"cmd": "cp made.txt used.txt", "deps": ["made.txt"],
                       "outs": ["used.txt"]}})
    repo.gen({"params.yaml": "n: 1\n"})
    repo.run("repro", check=True)
    repo.commit("n=1")
    repo.gen({"params.yaml": "n: 2\n"})
    repo.run("repro", check=True)
    repo.commit("n=2")
    repo.git("checkout", "-q", "HEAD~1")  # no hooks: the outs are still n=2's
    lines = repo.run("status").stdout.splitlines()
    assert lines[-1] == ("hint: outs differ from what gitpipe.lock records (after a git "
                         "checkout?): 'gitpipe checkout' (or 'gitpipe repro') puts the "
                         "recorded ones back from the cache, 'gitpipe repro -f -s STAGE' "
                         "recomputes a stage's, 'gitpipe commit' records them as they are "
                         "(made by hand)"), lines
    # a repro, too, restores what the lock records rather than running anything
    restored = json.loads(repo.run("repro", "--json", check=True).stdout)
    assert {t["task"]: t["outcome"] for t in restored["tasks"]} == {
        "make": "restored", "use": "restored"}, restored
    assert repo.git("status", "--porcelain") == "", "the lock is as the commit has it"
    repo.run("checkout", check=True)
    assert repo.run("status").stdout == "everything is up to date\n"
    repo.gen({"made.txt": "by hand\n", "raw.txt": "edited\n"})
    repo.spec({"make": {"cmd": "cp params.yaml made.txt", "params": ["n"],
                        "outs": ["made.txt"]},
               "use": {"cmd": "cp made.txt used.txt", "deps": ["made.txt", "raw.txt"],
                       "outs": ["used.txt"]}})
    repo.run("commit", "use", check=True)
    repo.gen({"raw.txt": "edited again\n"})  # data, not an out: checkout cannot settle it
    said = repo.run("status").stdout
    assert "outs: made.txt modified" in said and "hint:" not in said, said


def test_after_gc_and_a_git_checkout_status_names_pull_or_repro_not_the_cache(
        repo: Repo, tmp_path: Path) -> None:
    """`gc -w` drops the other commit's objects; after a `git checkout` of it
    `checkout` cannot put its outs back, and the hints no longer say it can:
    they name `repro`, and `pull` once there is a remote (as checkout's own
    error does)."""
    repo.spec({"make": {"cmd": "cp params.yaml made.txt", "params": ["n"],
                        "outs": ["made.txt"]},
               "use": {"cmd": "cp made.txt used.txt", "deps": ["made.txt"],
                       "outs": ["used.txt"]}})
    repo.gen({"params.yaml": "n: 1\n"})
    repo.run("repro", check=True)
    repo.commit("n=1")
    repo.gen({"params.yaml": "n: 2\n"})
    repo.run("repro", check=True)
    repo.commit("n=2")
    repo.run("gc", "-w", check=True)
    repo.git("checkout", "-q", "HEAD~1")  # no hooks: the outs are still n=2's
    lacking = ("hint: outs differ from what gitpipe.lock records (after a git checkout?) and "
               "the local cache lacks the recorded ones (after 'gitpipe gc'?): ")
    assert repo.run("status").stdout.splitlines()[-1] == (
        lacking + "'gitpipe repro' recomputes them, 'gitpipe commit' records them as they "
        "are (made by hand)")
    (repo.path / "made.txt").unlink()
    assert repo.run("status").stdout.splitlines()[-1] == (
        "hint: outs that gitpipe.lock records are missing and not in the local cache: "
        "'gitpipe repro' rebuilds them ('gitpipe remote add' names a remote to pull them "
        "from)")
    repo.run("remote", "add", "-d", "store", str(tmp_path / "store"), check=True)
    assert repo.run("status").stdout.splitlines()[-1] == (
        "hint: outs that gitpipe.lock records are missing and not in the local cache: "
        "'gitpipe pull' fetches them from the remote, 'gitpipe repro' rebuilds them")
    repo.gen({"made.txt": "n: 2\n"})
    assert repo.run("status").stdout.splitlines()[-1] == (
        lacking + "'gitpipe pull' fetches them from the remote, 'gitpipe repro' recomputes "
        "them, 'gitpipe commit' records them as they are (made by hand)")
    assert repo.run("checkout").returncode != 0  # what the hints no longer promise


def test_an_out_edited_by_hand_is_pointed_at_gitpipe_commit(repo: Repo) -> None:
    """A DVC user fixes an out by hand and runs `dvc commit`: the hint names
    `gitpipe commit`, which then leaves nothing stale."""
    repo.spec({"make": {"cmd": "echo made > made.txt", "outs": ["made.txt"]}})
    repo.run("repro", check=True)
    repo.gen({"made.txt": "fixed by hand\n"})
    said = repo.run("status").stdout
    assert "'gitpipe commit' records them as they are (made by hand)" in said, said
    repo.run("commit", check=True)
    assert repo.run("status").stdout == "everything is up to date\n"


def test_runs_has_a_header_row(repo: Repo) -> None:
    repo.spec({"make": {"cmd": "echo made > made.txt", "outs": ["made.txt"]}})
    repo.run("repro", check=True)
    lines = repo.run("runs", check=True).stdout.splitlines()
    assert lines[0].split() == ["invocation", "started", "stage", "result", "time", "in", "out"]
    assert lines[1].split()[3:5] == ["make", "ran"]


def test_runs_columns_are_two_spaces_apart_and_numbers_right_aligned(repo: Repo) -> None:
    repo.spec({"a": {"cmd": "echo a > a.txt", "outs": ["a.txt"]},
               "a-longer-name": {"cmd": "echo b > b.txt", "outs": ["b.txt"]}})
    repo.run("repro", check=True)
    lines = repo.run("runs", check=True).stdout.splitlines()
    header, rows = lines[0], lines[1:]
    stage_at = header.index("stage")
    # the widest stage name and two spaces, as every other column
    assert header.index("result") == stage_at + len("a-longer-name") + 2, lines
    for row in rows:  # text on the left, numbers (and their headings) on the right
        assert row[stage_at - 3].isdigit() and row[stage_at - 2:stage_at] == "  ", lines
        assert row[stage_at:].split()[0] in ("a", "a-longer-name"), lines
        assert row[header.index("result"):].startswith("ran"), lines
        assert len(row) == len(header), lines


def test_validate_counts_stages_and_partitions(repo: Repo) -> None:
    partitioned(repo)
    done = repo.run("validate", check=True)
    assert done.stdout == ("gitpipe.yaml is valid: 1 stage (3 partitions), "
                           "0 dependency edges\n")


def test_an_out_whose_name_ends_in_a_space_is_ignored_and_the_name_without_it_is_not(
        repo: Repo) -> None:
    # git drops a line's trailing spaces: `/out ` hid the user's `out` and
    # left the out itself for the next `git add -A`.
    repo.spec({"make": {"cmd": "echo made > 'out '", "outs": ["out "]}})
    repo.gen({"out": "mine\n"})
    repo.run("repro", check=True)
    status = repo.git("status", "--porcelain", "--untracked-files=all")
    assert "?? out\n" in status and '"out "' not in status

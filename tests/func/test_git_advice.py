"""After a run, what it changed that git should track is said, as `dvc repro`
says it: the lock, the root .gitignore and outs git does not ignore (a
`metrics:` file), only when this run changed them; `core.autostage` stages
them instead. Through the real CLI, in real git repositories."""

from __future__ import annotations

import json

from tests.conftest import Repo

SPEC = ("stages:\n"
        "  train:\n    cmd: echo model-$(cat lr.txt) > model.bin\n    deps: [lr.txt]\n"
        "    outs: [model.bin]\n"
        "  evaluate:\n    cmd: cat model.bin score.json > metrics.json\n"
        "    deps: [model.bin, score.json]\n"
        "    metrics: [metrics.json]\n")
ADVICE = "to track the changes with git, run:\n"


def _project(repo: Repo) -> Repo:
    repo.gen({"gitpipe.yaml": SPEC, "lr.txt": "0.1\n", "score.json": "{}\n"})
    repo.run("init", check=True)
    repo.git("add", "-A")
    repo.commit("spec")
    return repo


def _advised(done: object) -> str:
    stdout = done.stdout  # type: ignore[attr-defined]
    assert ADVICE in stdout, stdout
    return str(stdout.split(ADVICE)[1].splitlines()[0])


def test_the_first_repro_says_to_git_add_the_lock_and_metrics(repo: Repo) -> None:
    done = _project(repo).run("repro", check=True)
    # model.bin is a cached out: .gitignore hides it, and git is not told of it;
    # init wrote .gitignore's line for it, committed with the spec
    assert _advised(done) == "    git add gitpipe.lock metrics.json"
    assert "model.bin" not in done.stdout.split(ADVICE)[1]


def test_a_stage_added_after_init_names_the_gitignore_its_out_joined(repo: Repo) -> None:
    _project(repo).run("repro", check=True)
    repo.git("add", "-A")
    repo.commit("ran")
    repo.gen({"gitpipe.yaml": SPEC + "  report:\n    cmd: cp metrics.json report.bin\n"
                                     "    deps: [metrics.json]\n    outs: [report.bin]\n"})
    done = repo.run("repro", check=True)
    assert _advised(done) == "    git add .gitignore gitpipe.lock"


def test_nothing_is_said_when_the_run_changed_nothing_git_tracks(repo: Repo) -> None:
    _project(repo).run("repro", check=True)
    repo.git("add", "-A")
    repo.commit("ran")
    assert ADVICE not in repo.run("repro", "--force", check=True).stdout  # same outs again
    assert ADVICE not in repo.run("repro", check=True).stdout  # nothing ran
    assert ADVICE not in repo.run("repro", "--dry-run", check=True).stdout
    assert repo.run("-q", "repro", "-f", check=True).stdout == ""


def test_only_what_this_run_changed_is_named(repo: Repo) -> None:
    """metrics.json, left untracked by an earlier run, is not this run's."""
    _project(repo).run("repro", check=True)
    repo.git("add", "gitpipe.lock", ".gitignore")
    repo.commit("the lock")
    repo.gen({"lr.txt": "0.2\n"})
    assert _advised(repo.run("repro", "train", check=True)) == "    git add gitpipe.lock"


def test_core_autostage_stages_what_the_run_changed(repo: Repo) -> None:
    _project(repo)
    (repo.path / ".gitpipe" / "config.local.yaml").write_text("core:\n  autostage: true\n")
    done = repo.run("repro", check=True)
    assert ADVICE not in done.stdout
    assert ("staged with git (core.autostage): gitpipe.lock metrics.json\n"
            in done.stdout), done.stdout
    # what the run changed is staged; the config changed by hand is not
    assert repo.git("diff", "--cached", "--name-only").split() == ["gitpipe.lock",
                                                                    "metrics.json"]


def test_core_autostage_that_is_not_a_flag_is_refused_naming_file_and_key(repo: Repo) -> None:
    _project(repo)
    (repo.path / ".gitpipe" / "config.yaml").write_text("core:\n  autostage: yes please\n")
    done = repo.run("repro")
    assert done.returncode != 0
    assert "core.autostage" in done.stderr and ".gitpipe/config.yaml" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_commit_says_to_git_add_the_lock_and_the_metrics_it_recorded(repo: Repo) -> None:
    # `gitpipe commit` rewrites the lock as a repro does; a DVC user is told
    # to add dvc.lock after `dvc commit` too
    _project(repo).run("repro", check=True)
    repo.git("add", "-A")
    repo.commit("ran")
    repo.gen({"metrics.json": '{"acc": 1}\n'})  # edited by hand
    done = repo.run("commit", check=True)
    assert _advised(done) == "    git add gitpipe.lock metrics.json"
    repo.git("add", "-A")
    repo.commit("committed")
    assert ADVICE not in repo.run("commit", check=True).stdout  # nothing to record


MANY = 22  # more items than the advice names one by one (gitadvice.ADVICE_PATHS)
ITEMS = ", ".join(f"i{n:02d}" for n in range(MANY))
MANY_SPEC = ("stages:\n  score:\n"
             f"    foreach: [{ITEMS}]\n"
             "    do:\n"
             "      cmd: mkdir -p metrics/${item} && echo 1 > metrics/${item}/m.json\n"
             "      metrics: [\"metrics/${item}/m.json\"]\n")


def _many(repo: Repo) -> Repo:
    repo.gen({"gitpipe.yaml": MANY_SPEC})
    repo.run("init", check=True)
    repo.git("add", "-A")
    repo.commit("spec")
    return repo


def test_a_run_changing_many_files_names_their_folder_not_each(repo: Repo) -> None:
    """22 metrics files, one in each folder under metrics/: one `git add`
    line a user can read, naming the folder that holds only what the run
    wrote, and the lock by name; --json gives every path."""
    done = _many(repo).run("repro", "--json", check=True)
    assert _advised(done.__class__(done.args, 0, done.stderr, "")) \
        == "    git add gitpipe.lock metrics/"
    advice = json.loads(done.stdout)["git_add"]
    assert advice["said"] == ["gitpipe.lock", "metrics/"]
    assert advice["paths"] == ["gitpipe.lock", *(f"metrics/i{n:02d}/m.json" for n in range(MANY))]
    assert advice["staged"] is False


def test_a_folder_holding_a_change_the_run_did_not_make_is_never_advised(repo: Repo) -> None:
    """A scratch file of the user's under metrics/ is not the run's: the
    advice never adds it, folding only the folders that hold the run's
    files alone, and then cut with a count where they are still too many."""
    _many(repo)
    repo.gen({"metrics/scratch/notes.txt": "mine\n"})
    done = repo.run("repro", check=True)
    advised = _advised(done)
    assert "metrics/ " not in advised + " " and "scratch" not in advised, advised
    assert advised.startswith("    git add gitpipe.lock metrics/i00/m.json "), advised
    assert f"… and {MANY + 1 - 20} more: 'git status' lists them" in done.stdout, done.stdout


def test_backfill_json_gives_the_git_add_advice(repo: Repo) -> None:
    repo.gen({"gitpipe.yaml": "stages:\n  day:\n"
                              "    partition: {by: date, start: 2024-01-01, end: 2024-01-02}\n"
                              "    cmd: echo ${date} > day-${date}.json\n"
                              "    metrics: [\"day-${date}.json\"]\n"})
    repo.run("init", check=True)
    repo.git("add", "-A")
    repo.commit("spec")
    done = repo.run("backfill", "day", "--json", check=True)
    assert json.loads(done.stdout)["git_add"] == {
        "paths": ["day-2024-01-01.json", "day-2024-01-02.json", "gitpipe.lock"],
        "said": ["day-2024-01-01.json", "day-2024-01-02.json", "gitpipe.lock"],
        "staged": False}
    assert "git add day-2024-01-01.json day-2024-01-02.json gitpipe.lock" in done.stderr


def test_commit_json_gives_what_it_recorded_and_the_git_add_advice(repo: Repo) -> None:
    from tests.func.test_json import document

    _project(repo).run("repro", check=True)
    repo.git("add", "-A")
    repo.commit("ran")
    repo.gen({"metrics.json": '{"acc": 1}\n'})  # edited by hand
    done = repo.run("commit", "--json", check=True)
    found = document(done, "commit")  # checked against the schema
    assert found["committed"] == ["evaluate"]
    assert found["git_add"] == {"paths": ["gitpipe.lock", "metrics.json"],
                                "said": ["gitpipe.lock", "metrics.json"], "staged": False}
    assert "git add gitpipe.lock metrics.json" in done.stderr

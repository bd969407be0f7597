"""The CLI as a user meets it: help for every command, exit codes, errors without tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest

from gitpipe.cli.main import cli
from tests.conftest import Repo

COMMANDS = sorted(cli.list_commands(click.Context(cli)))


def test_version_and_help() -> None:
    out = subprocess.run([sys.executable, "-m", "gitpipe", "--version"], capture_output=True,
                         text=True, check=True).stdout
    assert out.startswith("gitpipe, version ")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str, repo: Repo) -> None:
    result = repo.cli(command, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_init_outside_git_is_a_clear_error(tmp_path) -> None:
    done = subprocess.run([sys.executable, "-m", "gitpipe", "init"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert done.returncode == 2
    assert "not inside a git repository" in done.stderr
    assert "Traceback" not in done.stderr


def test_init_writes_config_and_ignores(repo: Repo) -> None:
    repo.spec({"s": {"cmd": "echo > o && mkdir -p dir && touch dir/x", "outs": ["o", "dir/"]}})
    done = repo.run("init", check=True)
    assert "initialized" in done.stdout
    assert (repo.path / ".gitpipe/config.yaml").exists()
    assert "/state.db*" in repo.read(".gitpipe/.gitignore")
    assert repo.read(".gitignore").splitlines() == ["/o", "/dir"]
    again = repo.run("init", check=True)  # idempotent, and says so as git does
    assert again.stdout == (f"reinitialized the gitpipe project in {repo.path.resolve()} "
                            "(its .gitpipe/config.yaml kept as it is)\n"), again.stdout
    assert repo.read(".gitignore").splitlines() == ["/o", "/dir"]
    # git ignores them: a commit leaves the workspace outs and state out of git.
    repo.run("repro", check=True)
    repo.commit("all")
    tracked = repo.git("ls-files").split()
    assert "o" not in tracked and ".gitpipe/state.db" not in tracked
    assert ".gitpipe/config.yaml" in tracked and "gitpipe.lock" in tracked
    # A stage added after init, partitioned: its outs are ignored by pattern.
    spec = repo.read("gitpipe.yaml") + (
        "  p:\n    partition: {by: date, start: 2024-01-01, end: 2024-01-02}\n"
        "    cmd: mkdir -p parts && echo > parts/${date}.bin\n"
        "    outs: ['parts/${date}.bin']\n")
    repo.gen({"gitpipe.yaml": spec})
    repo.run("repro", check=True)
    assert repo.read(".gitignore").splitlines() == [
        "/o", "/dir", "/parts/[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9].bin"]
    repo.commit("partitions")
    assert not [p for p in repo.git("ls-files").split() if p.startswith("parts/")]


def test_no_spec_is_a_clear_error(repo: Repo) -> None:
    done = repo.run("status")
    assert done.returncode == 2
    assert "no gitpipe.yaml" in done.stderr


def test_spec_errors_name_file_line_stage(repo: Repo) -> None:
    repo.gen({"gitpipe.yaml": """\
        stages:
          train:
            cmd: python train.py
            dpes: [a.txt]
            timeout: soon
    """})
    done = repo.run("validate")
    assert done.returncode == 2
    assert "gitpipe.yaml:4: stage 'train': unknown field 'dpes' (did you mean 'deps'?)" \
        in done.stderr
    assert "gitpipe.yaml:5: stage 'train': 'timeout' 'soon' is not a duration" in done.stderr
    assert "Traceback" not in done.stderr


def test_invalid_yaml_names_line(repo: Repo) -> None:
    repo.gen({"gitpipe.yaml": "stages:\n  a:\n    cmd: [unclosed\n"})
    done = repo.run("status")
    assert done.returncode == 2
    assert done.stderr.startswith("error: gitpipe.yaml:")
    assert "invalid YAML" in done.stderr


def test_debug_shows_traceback(repo: Repo) -> None:
    done = repo.run("--debug", "status")
    assert done.returncode != 0
    assert "Traceback" in done.stderr


@pytest.mark.parametrize(("spec", "message"), [
    ({"a": {"cmd": "x", "outs": ["o"]}, "b": {"cmd": "y", "outs": ["o"]}},
     "out 'o' is written by both stage 'a' and stage 'b'"),
    ({"a": {"cmd": "x", "deps": ["b.txt"], "outs": ["a.txt"]},
      "b": {"cmd": "y", "deps": ["a.txt"], "outs": ["b.txt"]}},
     "the stages form a cycle: a -> b -> a"),
    ({"a": {"cmd": "x", "outs": ["d/"]}, "b": {"cmd": "y", "outs": ["d/inner.txt"]}},
     "out 'd/inner.txt' of stage 'b' is inside out 'd' of stage 'a'"),
    ({"a": {"cmd": "x", "deps": ["../outside.txt"], "outs": ["o"]}},
     "dependency '../outside.txt': it resolves outside the repository"),
    ({"a": {"cmd": "x", "outs": ["/etc/passwd"]}}, "out '/etc/passwd': absolute paths"),
    ({"a": {"cmd": "x", "outs": [".git/hooks/pre-commit"]}}, "belong to git or gitpipe"),
    ({"a": {"cmd": "x", "params": ["nope.key"], "outs": ["o"]}},
     "stage 'a': params file does not exist"),
])
def test_bad_specs_exit_2_before_running(repo: Repo, spec: dict, message: str) -> None:
    repo.spec(spec)
    for command in ("validate", "repro"):
        done = repo.run(command)
        assert done.returncode == 2, (command, done.stdout, done.stderr)
        assert message in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    assert not (repo.path / "o").exists()


def test_a_params_yml_beside_no_params_yaml_is_named(repo: Repo) -> None:
    """A DVC user's params.yml (DVC reads .yml, .json, .toml too): the error
    says the file that is there and how to name it."""
    repo.gen({"params.yml": {"train": {"lr": 0.1}}})
    repo.spec({"a": {"cmd": "x", "params": ["train.lr"], "outs": ["o"]}})
    done = repo.run("status")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert ("params.yaml: stage 'a': params file does not exist (params.yml is there: name "
            "it in the stage's params as '- params.yml: [train.lr]', or rename it "
            "params.yaml)") in done.stderr, done.stderr
    repo.spec({"a": {"cmd": "x", "params": [{"params.yml": ["train.lr"]}], "outs": ["o"]}})
    assert repo.run("status").returncode == 0  # the form the hint gives is one that works


def test_a_params_yml_that_cannot_be_read_gives_no_hint(repo: Repo, tmp_path: Path) -> None:
    """The hint's look at params.yml is no read the user declared: a link
    out of the repository or a folder there leaves the missing file's own
    error, not one about params.yml."""
    repo.spec({"a": {"cmd": "x", "params": ["lr"], "outs": ["o"]}})
    (tmp_path / "outside.yml").write_text("lr: 1\n")
    (repo.path / "params.yml").symlink_to(tmp_path / "outside.yml")
    for plant in ("link", "folder"):
        if plant == "folder":
            (repo.path / "params.yml").unlink()
            (repo.path / "params.yml").mkdir()
        done = repo.run("status")
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert "params.yaml: stage 'a': params file does not exist" in done.stderr, done.stderr
        assert "params.yml" not in done.stderr.replace("params.yaml", ""), done.stderr


def test_missing_param_key_did_you_mean(repo: Repo) -> None:
    repo.gen({"params.yaml": {"train": {"lr": 0.1}}})
    repo.spec({"a": {"cmd": "x", "params": ["train.rl"], "outs": ["o"]}})
    done = repo.run("status")
    assert done.returncode == 2
    assert "params.yaml: stage 'a': param 'train.rl' not found (did you mean 'train.lr'?)" \
        in done.stderr


def test_symlinked_out_escaping_repo_is_refused(repo: Repo, tmp_path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo.path / "link").symlink_to(outside)
    repo.spec({"a": {"cmd": "echo x > link/f", "outs": ["link/f"]}})
    done = repo.run("repro")
    assert done.returncode == 2
    assert "resolves outside the repository" in done.stderr
    assert not (outside / "f").exists()


def test_unknown_target(repo: Repo) -> None:
    repo.spec({"train": {"cmd": "x", "outs": ["o"]}})
    done = repo.run("repro", "trian")
    assert done.returncode == 2
    assert "unknown stage 'trian'" in done.stderr and "did you mean 'train'?" in done.stderr


def test_an_unknown_stage_with_nothing_near_lists_the_stages(repo: Repo) -> None:
    repo.spec({"prepare": {"cmd": "x", "outs": ["p"]}, "train": {"cmd": "y", "outs": ["t"]}})
    for args in (["repro", "nosuch"], ["status", "nosuch"], ["backfill", "nosuch"]):
        done = repo.run(*args)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert "unknown stage 'nosuch'" in done.stderr, done.stderr
        assert "the stages are prepare, train" in done.stderr, done.stderr
    repo.spec({f"s{i}": {"cmd": "x", "outs": [f"o{i}"]} for i in range(9)})
    done = repo.run("repro", "nosuch")
    assert "9 stages: 'gitpipe status' lists them" in done.stderr, done.stderr


def test_an_out_s_path_as_a_stage_target_names_its_stage(repo: Repo) -> None:
    """`dvc commit models/` takes an out; `gitpipe commit models/` said only
    `unknown stage 'models/'` and listed the stages, leaving the user to find
    which one writes it."""
    repo.spec({"prepare": {"cmd": "echo p > p.txt", "outs": ["p.txt"]},
               "train": {"cmd": "mkdir -p models && echo m > models/m.txt",
                         "deps": ["p.txt"], "outs": ["models/"]},
               "daily": {"partition": {"by": "date", "start": "2024-03-01",
                                       "end": "2024-03-02"},
                         "cmd": "echo ${date} > d-${date}.txt", "outs": ["d-${date}.txt"]}})
    for args, stage in ((["commit", "models/"], "train"), (["commit", "./models"], "train"),
                        (["repro", "p.txt"], "prepare"),
                        (["status", "d-2024-03-02.txt"], "daily@2024-03-02")):
        done = repo.run(*args)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        target = args[1]
        assert done.stderr.splitlines() == [
            f"error: unknown stage {target!r}: it is an out of stage {stage!r}",
            f"hint: name the stage instead: {stage}"], done.stderr


def test_a_target_addressed_by_its_file_as_dvc_s_says_to_name_the_stage(repo: Repo,
                                                                       tmp_path: Path) -> None:
    """`dvc repro dvc.yaml:train` and `dvc repro dvc.yaml` address stages by
    their file; `gitpipe repro gitpipe.yaml:train` said only `unknown stage`,
    `push`, `checkout` (the lock's targets) and `remove` said less still."""
    repo.spec({"prepare": {"cmd": "echo p > p.txt", "outs": ["p.txt"]},
               "train": {"cmd": "echo m > m.txt", "deps": ["p.txt"], "outs": ["m.txt"]}})
    file_words = "targets are stage names, without a file (gitpipe has one gitpipe.yaml)"
    for args, hint in ((["repro", "gitpipe.yaml:train"], "name the stage alone: train"),
                       (["status", "dvc.yaml:trian"], "did you mean 'train'?"),
                       (["commit", "./dvc.yaml"],
                        "with no targets, the command takes every stage of gitpipe.yaml"),
                       # the commands whose targets are the lock's, and remove's, alike
                       (["push", "dvc.yaml:train"], "name the stage alone: train"),
                       (["checkout", "dvc.yaml:trian"], "did you mean 'train'?"),
                       (["remove", "dvc.yaml:train"], "name the stage alone: train")):
        if args[0] == "push":
            repo.run("init", check=True)
            repo.run("remote", "add", "-d", "store", str(tmp_path / "store"), check=True)
            repo.run("repro", check=True)
        done = repo.run(*args)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.splitlines() == [
            f"error: unknown stage {args[1]!r}: {file_words}", f"hint: {hint}"], done.stderr


def test_repro_failure_exit_1_with_log_hint(repo: Repo) -> None:
    repo.spec({"bad": {"cmd": "echo boom; exit 4", "outs": ["o"]}}, commit="spec")
    done = repo.run("repro")
    assert done.returncode == 1
    assert "[bad] boom" in done.stdout
    assert "stage 'bad': command exited with code 4" in done.stderr
    log = done.stderr.split("hint: the log is ")[1].strip()
    assert Path(log).read_text() == "boom\n"


def test_repro_output_prefixed_and_summarized(repo: Repo) -> None:
    repo.spec({"hello": {"cmd": "echo hi > o; echo said hi", "outs": ["o"]}}, commit="s")
    done = repo.run("repro", check=True)
    assert "[hello] said hi" in done.stdout
    assert "1 ran" in done.stdout
    dry = repo.run("repro", "--dry-run", "--force", check=True)
    assert "would run hello: forced" in dry.stdout


def test_dag_formats(repo: Repo) -> None:
    repo.spec({"a": {"cmd": "x", "outs": ["a.txt"]},
               "b": {"cmd": "y", "deps": ["a.txt"], "outs": ["b.txt"]}})
    assert repo.run("dag", "--format", "list").stdout.splitlines() == ["a", "b  <- a"]
    assert '"a" -> "b";' in repo.run("dag", "--format", "dot").stdout
    assert "n0 --> n1" in repo.run("dag", "--format", "mermaid").stdout
    data = json.loads(repo.run("dag", "--format", "json").stdout)
    assert data == {"nodes": ["a", "b"], "edges": [["a", "b"]]}


def test_runs_history(repo: Repo) -> None:
    repo.spec({"a": {"cmd": "head -c 100 /dev/zero > a.bin", "outs": ["a.bin"]}}, commit="s")
    assert "no runs recorded yet" in repo.run("runs").stdout
    repo.run("repro", check=True)
    rows = json.loads(repo.run("runs", "--json").stdout)
    assert [(r["task"], r["result"], r["bytes_out"]) for r in rows] == [("a", "ran", 100)]
    assert "a" in repo.run("runs").stdout


def test_runs_of_one_repro_share_an_invocation_and_restores_are_recorded(repo: Repo) -> None:
    repo.spec({"a": {"cmd": "cp params.yaml a.txt", "deps": ["params.yaml"], "outs": ["a.txt"]},
               "b": {"cmd": "cp a.txt b.txt", "deps": ["a.txt"], "outs": ["b.txt"]}})
    repo.gen({"params.yaml": {"n": 1}}, commit="s")
    repo.run("repro", check=True)
    repo.gen({"params.yaml": {"n": 2}})
    repo.run("repro", check=True)
    repo.gen({"params.yaml": {"n": 1}})
    repo.run("repro", check=True)
    rows = json.loads(repo.run("runs", "--json").stdout)
    assert [(r["task"], r["result"]) for r in rows] == [
        ("b", "restored"), ("a", "restored"), ("b", "ran"), ("a", "ran"), ("b", "ran"),
        ("a", "ran")]
    invocations = [r["invocation"] for r in rows]
    assert invocations[0] == invocations[1] != invocations[2] == invocations[3] \
        != invocations[4] == invocations[5]


def test_a_state_db_from_before_invocations_gains_the_column(repo: Repo) -> None:
    import sqlite3

    repo.spec({"a": {"cmd": "echo 1 > a.txt", "outs": ["a.txt"]}}, commit="s")
    repo.run("init", check=True)
    db = repo.path / ".gitpipe" / "state.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, task TEXT, "
                     "started REAL, duration REAL, result TEXT, bytes_in INTEGER, "
                     "bytes_out INTEGER, fingerprint TEXT, log TEXT)")
        conn.execute("INSERT INTO runs (task, started, duration, result, bytes_in, bytes_out)"
                     " VALUES ('old', 1.0, 2.0, 'ran', 0, 0)")
    repo.run("repro", check=True)
    rows = json.loads(repo.run("runs", "--json").stdout)
    assert [(r["task"], r["invocation"] is None) for r in rows] == [("a", False), ("old", True)]


def test_k8s_manifest_needs_no_cluster(repo: Repo) -> None:
    repo.spec({"train": {"cmd": "python train.py", "outs": ["model/"],
                         "executor": "kubernetes", "image": "reg/train:1", "timeout": "1h",
                         "resources": {"memory": "2Gi"}}}, commit="spec")
    repo.run("init", check=True)
    repo.run("remote", "add", "-d", "s3", "s3://bucket/cache", check=True)
    done = repo.run("k8s", "manifest", "train", check=True)
    import yaml

    job = yaml.safe_load(done.stdout)
    assert job["kind"] == "Job" and job["spec"]["activeDeadlineSeconds"] == 3600
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "reg/train:1"
    assert container["command"][-6:-3] == ["--remote", "s3://bucket/cache", "--record-digest"]
    assert container["command"][-3].startswith("sha256:")
    assert container["command"][-2:] == ["--termination-log", container["terminationMessagePath"]]
    assert container["resources"]["limits"] == {"memory": "2Gi"}


def test_k8s_manifest_picks_the_remote_a_run_would(repo: Repo) -> None:
    repo.spec({"train": {"cmd": "true", "outs": ["model/"], "executor": "kubernetes",
                         "image": "reg/train:1"}}, commit="spec")
    repo.run("init", check=True)
    repo.run("remote", "add", "a", "s3://bucket/a", check=True)
    repo.run("remote", "add", "b", "s3://bucket/b", check=True)
    # Several remotes, none the default: a run refuses, and so does the manifest.
    refused = repo.run("k8s", "manifest", "train")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "several remotes and no default" in refused.stderr
    repo.run("remote", "remove", "b", check=True)
    repo.run("remote", "add", "-d", "b", "s3://bucket/b", check=True)
    done = repo.run("k8s", "manifest", "train", check=True)
    import yaml

    command = yaml.safe_load(done.stdout)["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[command.index("--remote") + 1] == "s3://bucket/b"


def test_validate_counts_stages_and_warns_of_deps_nothing_provides(repo: Repo) -> None:
    repo.gen({"src/a.py": "print(1)\n"})
    repo.spec({
        "day": {"cmd": "echo ${date} > out/${date}.txt", "outs": ["out/${date}.txt"],
                "partition": {"by": "date", "start": "2024-01-01", "end": "2024-01-03",
                              "freq": "daily"}},
        "use": {"cmd": "cat out/* > all.txt", "deps": ["out", "src/a.py", "src/typo.py"],
                "outs": ["all.txt"]},
    })
    done = repo.run("validate")
    assert done.returncode == 0, done.stderr
    assert "2 stages (3 partitions)" in done.stdout
    # out/ is written by 'day' and src/a.py exists: only the typo is reported.
    assert done.stderr.strip() == (
        "warning: gitpipe.yaml:11: stage 'use': dependency 'src/typo.py' does not exist and no "
        "stage declares it as an out: 'gitpipe repro' refuses to run the stage until it "
        "exists (did you mean 'src/a.py'?)")


def test_runs_of_an_unknown_stage_and_a_missing_directory_are_bad_input(repo: Repo,
                                                                        tmp_path) -> None:
    repo.spec({"train": {"cmd": "echo > m", "outs": ["m"]}}, commit="spec")
    typo = repo.run("runs", "trian")
    assert typo.returncode == 2 and "unknown stage 'trian'" in typo.stderr
    assert "did you mean 'train'?" in typo.stderr
    assert repo.run("runs", "train").stdout.strip() == "no runs recorded yet"
    gone = repo.run("-C", str(tmp_path / "nowhere"), "status")
    assert gone.returncode == 2 and "does not exist" in gone.stderr, gone.stderr


@pytest.mark.parametrize("config, problem", [
    ("core: [1\n", "invalid YAML"),
    ("core: {jobz: 3}\n", "core: unknown key 'jobz'"),
    ("pools: {db: -1}\n", "pools.db must be a whole number of at least 1"),
])
def test_validate_checks_the_config(repo: Repo, config: str, problem: str) -> None:
    repo.spec({"a": {"cmd": "echo > o", "outs": ["o"]}}, commit="spec")
    repo.run("init", check=True)
    (repo.path / ".gitpipe" / "config.yaml").write_text(config)
    done = repo.run("validate")
    assert done.returncode == 2, done.stdout + done.stderr
    assert ".gitpipe/config.yaml" in done.stderr and problem in done.stderr
    assert "Traceback" not in done.stderr


def _with_stdout_closed(repo: Repo, *args: str, **env: str) -> subprocess.CompletedProcess:
    """The CLI with a reader that has already left: every write to stdout fails."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run([sys.executable, "-m", "gitpipe", *args], cwd=repo.path,
                              env={**os.environ, "NO_COLOR": "1", **env}, stdout=write_end,
                              stderr=subprocess.PIPE, text=True)
    finally:
        os.close(write_end)


@pytest.mark.parametrize("args", [("status",), ("status", "--check")])
def test_a_reader_that_leaves_does_not_change_the_exit_code(repo: Repo, args: tuple) -> None:
    # Both doors (the engine without click, and click) end the same way.
    repo.spec({"a": {"cmd": "echo a > a.txt", "outs": ["a.txt"]}}, commit="spec")
    want = 1 if "--check" in args else 0
    for env in ({}, {"GITPIPE_NO_QUICK": "1"}):
        done = _with_stdout_closed(repo, *args, **env)
        assert done.returncode == want, (env, done.stderr)
        assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr


def test_the_package_exports_init_and_project(tmp_path: Path) -> None:
    import gitpipe

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    project = gitpipe.init(tmp_path)
    assert isinstance(project, gitpipe.Project) and (tmp_path / ".gitpipe").is_dir()


def test_init_in_a_folder_of_a_project_is_refused_and_writes_nothing(repo: Repo) -> None:
    repo.spec({"a": {"cmd": "echo a > a.txt", "outs": ["a.txt"]}})
    repo.run("init", check=True)
    (repo.path / "src").mkdir()
    done = repo.run("init", cwd=repo.path / "src")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert f"is inside the gitpipe project at '{repo.path}'" in done.stderr
    assert not (repo.path / "src/.gitpipe").exists()
    assert repo.run("status", cwd=repo.path / "src").returncode in (0, 1)


def test_init_at_the_top_of_a_repository_nested_in_a_project_is_allowed(repo: Repo) -> None:
    # A submodule or a clone inside a project's folder is a repository of its own:
    # commands run there stop at its .git (find_root), so init belongs to it.
    repo.spec({"a": {"cmd": "echo a > a.txt", "outs": ["a.txt"]}})
    repo.run("init", check=True)
    inner = repo.path / "vendor/lib"
    inner.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(inner)], check=True)
    done = repo.run("init", cwd=inner)
    assert done.returncode == 0, done.stderr
    assert (inner / ".gitpipe").is_dir()


def test_a_command_not_found_or_killed_is_said_in_words(repo: Repo) -> None:
    repo.spec({"typo": {"cmd": "pyhton train.py", "outs": ["o"]},
               "killed": {"cmd": "echo start; kill -9 $$", "outs": ["k"]}}, commit="spec")
    done = repo.run("repro", "--keep-going")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert ("stage 'typo': command exited with code 127 (the shell found no such command"
            in done.stderr), done.stderr
    assert "stage 'killed': command was killed by signal 9 (SIGKILL)" in done.stderr


@pytest.mark.parametrize("spec", ["stages:\n  s:\n    cmd: echo 1 > o\n    outs: [o]\n",
                                  "stages:\n  s:\n    cmd: [unclosed\n"], ids=["parses", "not"])
def test_init_reads_gitpipe_yaml_once(repo: Repo, spec: str,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # The outs' ignore lines and the note on a spec that does not parse come
    # from one reading of it.
    from gitpipe.project import root

    loads = []

    def counted(*args: Any, **kwargs: Any) -> Any:
        loads.append(args)
        return load(*args, **kwargs)

    load = root.load_pipeline
    monkeypatch.setattr(root, "load_pipeline", counted)
    (repo.path / "gitpipe.yaml").write_text(spec)
    done = repo.cli("init")
    assert done.exit_code == 0, done.output
    assert len(loads) == 1, loads
    assert ("note: gitpipe.yaml" in done.output) == ("unclosed" in spec), done.output


def test_init_while_gitpipe_yaml_does_not_parse_initialises_and_says_so(repo: Repo) -> None:
    # `dvc init` never reads dvc.yaml: a spec being written is no reason to refuse.
    (repo.path / "gitpipe.yaml").write_text("stages:\n  s:\n    cmd: [unclosed\n")
    done = repo.run("init")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert (repo.path / ".gitpipe/config.yaml").exists()
    assert "note: gitpipe.yaml" in done.stderr and "at the first repro" in done.stderr, done.stderr
    assert repo.run("validate").returncode == 2

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


def test_the_lock_check_hook_agrees_on_nan_and_set_params(repo: Repo) -> None:
    repo.gen({"params.yaml": "train:\n  tol: .nan\n  tags: !!set {b, a}\n"})
    repo.spec({"train": {"cmd": "echo x > out.txt", "params": ["train"],
                         "outs": ["out.txt"]}}, commit="pipeline")
    assert repo.run("repro").returncode == 0
    for _ in range(2):  # the second reads the parsed lock and params back from JSON
        assert repo.run("status", "--check").returncode == 0
        done = repo.run("hooks", "run", "lock-check")
        assert done.returncode == 0, done.stdout + done.stderr


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
    assert status_json(repo) == {"a": ["env changed: X 1 -> 2"]}
    repo.spec({"a": {"cmd": "echo $X > out.txt", "env": {"X": "1"}, "wdir": "sub",
                     "outs": ["../out.txt"]}})
    assert status_json(repo) == {"a": ["wdir changed (. -> sub)"]}


def test_cluster_env_of_kubernetes_stages_is_in_their_fingerprint(repo: Repo) -> None:
    config = {"kubernetes": {"image": "python:3.12", "env": {"MODE": "fast"}}}
    repo.gen({".gitpipe/config.yaml": config})
    repo.spec({"k": {"cmd": "echo $MODE > out.txt", "outs": ["out.txt"],
                     "executor": "kubernetes"},
               "local": {"cmd": "echo x > l.txt", "outs": ["l.txt"]}}, commit="pipeline")
    assert repo.run("repro", "local").returncode == 0
    (repo.path / "out.txt").write_text("made\n")  # made by hand, never tracked by git
    done = repo.run("commit", "k")
    assert done.returncode == 0, done.stderr
    assert status_json(repo) == {"k": [], "local": []}
    for changed in ({"env": {"MODE": "slow"}}, {"image": "python:3.13"},
                    {"env_from_secret": "s3-creds"}, {"env_from_secret": ["a", "b"]}):
        repo.gen({".gitpipe/config.yaml": {"kubernetes": {**config["kubernetes"], **changed}}})
        assert status_json(repo) == {"k": ["executor settings changed"], "local": []}
    # the per-machine config reaches the pod too
    repo.gen({".gitpipe/config.yaml": config,
              ".gitpipe/config.local.yaml": {"kubernetes": {"env": {"TOKEN": "t"}}}})
    assert status_json(repo) == {"k": ["executor settings changed"], "local": []}
    assert "TOKEN" not in repo.read("gitpipe.lock") and "fast" not in repo.read("gitpipe.lock")


def test_a_lock_written_before_fingerprint_v2_still_holds(repo: Repo) -> None:
    from gitpipe.hashing.fingerprint import legacy_fingerprint

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


# -- the executable bit of outs ----------------------------------------------------------

TOOL = "printf '#!/bin/sh\\necho tool-ran\\n' > tool && chmod +x tool"
BIN = ("mkdir -p bin && printf '#!/bin/sh\\necho bin-ran\\n' > bin/run && chmod +x bin/run"
       " && echo data > bin/data.txt")


def _tools(repo: Repo) -> None:
    repo.spec({
        "build": {"cmd": ran_cmd("build", f"{TOOL} && {BIN}"), "outs": ["tool", "bin/"]},
        "use": {"cmd": ran_cmd("use", "./tool > used.txt && ./bin/run >> used.txt"),
                "deps": ["tool", "bin/"], "outs": ["used.txt"]},
    }, commit="pipeline")


def _executable(path: Path) -> bool:
    return path.stat().st_mode & 0o111 == 0o111


def _assert_modes(root: Path) -> None:
    assert _executable(root / "tool") and _executable(root / "bin/run")
    assert (root / "bin/data.txt").stat().st_mode & 0o111 == 0


def test_executable_outs_survive_checkout(repo: Repo) -> None:
    _tools(repo)
    assert repo.run("repro").returncode == 0
    assert repo.ran() == ["build", "use"]
    lock = yaml.safe_load(repo.read("gitpipe.lock"))["stages"]["build"]
    assert {o["path"]: o.get("exec", False) for o in lock["outs"]} == {
        "tool": True, "bin": False}  # a directory's files say so in its manifest
    (repo.path / "tool").unlink()
    import shutil

    shutil.rmtree(repo.path / "bin")
    done = repo.run("checkout")
    assert done.returncode == 0, done.stderr
    _assert_modes(repo.path)
    (repo.path / "tool").chmod(0o644)  # same bytes, bit lost: checkout puts it back
    assert repo.run("checkout").returncode == 0
    _assert_modes(repo.path)
    assert repo.run("repro").returncode == 0
    assert repo.ran() == []


def test_executable_outs_run_from_hardlink_and_symlink_checkouts(repo: Repo) -> None:
    import subprocess

    _tools(repo)
    assert repo.run("repro").returncode == 0
    for link_type in ("symlink", "hardlink"):  # symlink first: objects still 0444
        repo.gen({".gitpipe/config.yaml": {"cache": {"type": link_type}}})
        (repo.path / "tool").unlink()
        import shutil

        shutil.rmtree(repo.path / "bin")
        done = repo.run("checkout")
        assert done.returncode == 0, done.stderr
        for program in ("./tool", "./bin/run"):
            ran = subprocess.run([program], cwd=repo.path, capture_output=True, text=True)
            assert ran.returncode == 0, (link_type, program, ran.stderr)


def test_executable_outs_survive_pull_into_a_fresh_clone(repo: Repo, tmp_path: Path) -> None:
    _tools(repo)
    repo.run("remote", "add", "-d", "store", str(tmp_path / "store"), check=True)
    assert repo.run("repro").returncode == 0
    assert repo.run("push").returncode == 0
    repo.commit("results")
    laptop = repo.clone_to(tmp_path / "laptop")
    done = laptop.run("pull")
    assert done.returncode == 0, done.stderr
    _assert_modes(laptop.path)
    assert laptop.run("status", "--check").returncode == 0


def test_executable_outs_survive_a_run_cache_restore(repo: Repo) -> None:
    _tools(repo)
    assert repo.run("repro").returncode == 0
    repo.ran()
    (repo.path / "gitpipe.lock").unlink()
    for out in ("tool", "used.txt"):
        (repo.path / out).unlink()
    import shutil

    shutil.rmtree(repo.path / "bin")
    done = repo.run("repro")
    assert done.returncode == 0, done.stderr
    assert "restored" in done.stdout
    assert repo.ran() == []  # both restored, none ran
    _assert_modes(repo.path)
    # the downstream command runs the restored tool
    repo.spec({"build": {"cmd": ran_cmd("build", f"{TOOL} && {BIN}"), "outs": ["tool", "bin/"]},
               "use": {"cmd": ran_cmd("use", "./tool > used.txt && ./bin/run >> used.txt "
                                      "&& echo again >> used.txt"),
                       "deps": ["tool", "bin/"], "outs": ["used.txt"]}})
    done = repo.run("repro")
    assert done.returncode == 0, done.stderr
    assert repo.ran() == ["use"]
    assert repo.read("used.txt") == "tool-ran\nbin-ran\nagain\n"


# -- .gitpipeignore ----------------------------------------------------------------------

def _lib_stage(repo: Repo, extra: str = "") -> None:
    repo.gen({"lib/mod.py": "X = 1\n", "lib/data/a.txt": "a\n"})
    write_junk = ("mkdir -p lib/__pycache__ lib/.ipynb_checkpoints && echo c > "
                  "lib/__pycache__/mod.cpython.pyc && echo n > lib/.ipynb_checkpoints/x "
                  "&& echo d > lib/data/.DS_Store && echo p > lib/data/y.pyc")
    repo.spec({"use": {"cmd": ran_cmd("use", f"{write_junk} {extra}&& cat lib/mod.py > o.txt"),
                       "deps": ["lib/"], "outs": ["o.txt"]}}, commit="pipeline")


def test_a_directory_dep_the_stage_writes_bytecode_into_stays_up_to_date(repo: Repo) -> None:
    _lib_stage(repo)
    assert repo.run("repro").returncode == 0
    assert repo.ran() == ["use"]
    assert (repo.path / "lib/__pycache__/mod.cpython.pyc").exists()
    assert status_json(repo) == {"use": []}
    assert repo.run("repro").returncode == 0
    assert repo.ran() == []
    (repo.path / "lib/data/a.txt").write_text("changed\n")
    assert status_json(repo) == {"use": ["deps: lib/ modified"]}


def test_custom_ignore_rules_and_their_changes(repo: Repo) -> None:
    _lib_stage(repo)
    repo.gen({"lib/.gitpipeignore": "*.tmp\n!keep.tmp\n", ".gitpipeignore": "/lib/scratch/\n"},
             commit="ignore")
    assert repo.run("repro").returncode == 0
    repo.ran()
    repo.gen({"lib/data/x.tmp": "1", "lib/scratch/big.bin": "2", "data.tmp": "3"})
    assert status_json(repo) == {"use": []}
    repo.gen({"lib/data/keep.tmp": "kept"})  # taken back by `!`
    assert status_json(repo) == {"use": ["deps: lib/ modified"]}
    assert repo.run("repro").returncode == 0
    repo.ran()
    # the rules are an input: dropping one brings its files back into the dep
    repo.gen({"lib/.gitpipeignore": "!keep.tmp\n"})
    assert status_json(repo) == {"use": ["deps: lib/ modified"]}
    assert repo.run("repro").returncode == 0
    repo.ran()
    repo.gen({".gitpipeignore": ""})
    assert status_json(repo) == {"use": ["deps: lib/ modified"]}


def test_an_ignored_file_in_a_directory_out_is_not_cached_or_checked_out(repo: Repo) -> None:
    repo.spec({"make": {"cmd": "mkdir -p out/__pycache__ && echo 1 > out/a.txt && "
                               "echo 2 > out/__pycache__/a.pyc && echo 3 > out/b.pyc",
                        "outs": ["out/"]}}, commit="pipeline")
    assert repo.run("repro").returncode == 0
    assert status_json(repo) == {"make": []}
    import shutil

    shutil.rmtree(repo.path / "out")
    assert repo.run("checkout").returncode == 0
    assert sorted(p.name for p in (repo.path / "out").rglob("*")) == ["a.txt"]
    assert status_json(repo) == {"make": []}


def test_every_walker_agrees_on_what_is_ignored(repo: Repo, tmp_path: Path) -> None:
    from gitpipe.hashing.coldscan import scan_directory
    from gitpipe.hashing.digests import listing_digest
    from gitpipe.hashing.statsig import walk_files

    files = {f"d/f{k}.txt": str(k) for k in range(2100)}  # enough for forked workers
    files.update({"d/sub/x.pyc": "p", "d/sub/__pycache__/y": "p", "d/.gitpipeignore": "*.skip\n",
                  "d/a.skip": "s", "d/tool": "t"})
    repo.gen({"gitpipe.yaml": "stages: {}\n", **files})
    (repo.path / "d/tool").chmod(0o755)
    full = str(repo.path / "d")
    listing = walk_files(full)
    cold = scan_directory(full)
    assert cold is not None
    assert len(listing) == 2100 + 2  # the files, .gitpipeignore and tool
    assert not any(name.endswith((".pyc", ".skip")) or "__pycache__" in name
                   for name, *_ in listing)
    from gitpipe.hashing.digests import file_digest

    digests = [file_digest(f"{full}/{item[0]}") for item in listing]
    assert listing_digest(listing, digests)[0] == cold.digest



def test_linked_checkouts_keep_a_plain_out_plain_beside_an_executable_twin(
        repo: Repo) -> None:
    """Two outs with the same bytes share one cache object; with hardlink or
    symlink checkouts the executable one must not make its twin executable."""
    script = "#!/bin/sh\\necho hi\\n"
    repo.spec({
        "mk": {"cmd": f"printf '{script}' > a.sh && cp a.sh b.sh && chmod +x b.sh",
               "outs": ["a.sh", "b.sh"]},
        "use": {"cmd": "cat a.sh > u.txt", "deps": ["a.sh"], "outs": ["u.txt"]},
    })
    assert repo.run("repro").returncode == 0
    repo.commit("built")
    for link_type in ("hardlink", "symlink"):
        repo.gen({".gitpipe/config.yaml": {"cache": {"type": link_type}}})
        for name in ("a.sh", "b.sh", "u.txt"):
            (repo.path / name).unlink()
        assert repo.run("checkout").returncode == 0
        assert not _executable(repo.path / "a.sh") and _executable(repo.path / "b.sh")
        repo.age()
        assert status_json(repo) == {"mk": [], "use": []}, link_type


def test_a_file_out_that_lost_its_executable_bit_is_stale_and_checkout_puts_it_back(
        repo: Repo) -> None:
    repo.spec({
        "build": {"cmd": "printf '#!/bin/sh\\necho v1\\n' > tool && chmod +x tool",
                  "outs": ["tool"]},
        "use": {"cmd": "./tool > u.txt", "deps": ["tool"], "outs": ["u.txt"]},
    })
    assert repo.run("repro").returncode == 0
    repo.commit("built")
    (repo.path / "tool").chmod(0o644)
    repo.age()
    reasons = status_json(repo)
    assert reasons["build"] == ["outs: tool mode changed (+x -> -x)"], reasons
    assert repo.run("checkout").returncode == 0
    assert _executable(repo.path / "tool")
    repo.age()
    assert status_json(repo) == {"build": [], "use": []}
    # A bit the lock does not name is taken away by checkout too.
    (repo.path / "u.txt").chmod(0o755)
    assert repo.run("checkout").returncode == 0
    assert not _executable(repo.path / "u.txt")


def test_an_out_kind_change_beside_a_real_change_does_not_say_no_run(repo: Repo) -> None:
    _with_metric(repo, as_metric=False)
    assert repo.run("repro").returncode == 0
    repo.commit("built")
    _with_metric(repo, as_metric=True)
    spec = yaml.safe_load(repo.read("gitpipe.yaml"))
    spec["stages"]["train"]["cmd"] += " && true"  # a real change: the stage runs
    repo.gen({"gitpipe.yaml": spec})
    repo.age()
    reasons = status_json(repo)["train"]
    assert reasons == ["cmd changed: '&& true' added", "outs: m.json declared as a metric"], \
        reasons

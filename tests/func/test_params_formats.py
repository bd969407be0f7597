"""Params files in TOML and JSON beside YAML, YAML 1.2 numbers, and `wdir` checked
before anything runs."""

from __future__ import annotations

import json

from tests.conftest import Repo, ran_cmd


def _stage(params: list[object]) -> dict[str, object]:
    return {"a": {"cmd": ran_cmd("a", "echo done > out.txt"), "params": params,
                  "outs": ["out.txt"]}}


def test_toml_and_json_params_are_read_and_judged(repo: Repo) -> None:
    repo.gen({"p.toml": "[train]\nlr = 0.1\nlayers = [1, 2]\n",
              "p.json": json.dumps({"seed": 7, "opt": {"name": "adam"}})})
    repo.spec(_stage([{"p.toml": ["train.lr", "train.layers"]},
                      {"p.json": ["seed", "opt.name"]}]))
    repo.run("repro", check=True)
    assert repo.ran() == ["a"]
    lock = repo.read("gitpipe.lock")
    assert "p.toml:train.lr: 0.1" in lock and "p.json:opt.name: adam" in lock
    assert repo.run("status", "--check").returncode == 0

    repo.gen({"p.toml": "[train]\nlr = 0.2\nlayers = [1, 2]\n"})
    done = repo.run("status")
    assert "p.toml:train.lr 0.1 -> 0.2" in done.stdout
    repo.gen({"p.toml": "[train]\nlr = 0.1\nlayers = [1, 2]\n",
              "p.json": json.dumps({"seed": 8, "opt": {"name": "adam"}})})
    assert "p.json:seed 7 -> 8" in repo.run("status").stdout


def test_yaml_params_read_exponents_as_numbers(repo: Repo) -> None:
    """`1e-3` is a number in YAML 1.2 (and in DVC); a quoted one stays text."""
    repo.gen({"params.yaml": "lr: 1e-3\nsteps: 1E5\nname: '1e-3'\n"})
    repo.spec(_stage(["lr", "steps", "name"]))
    repo.run("repro", check=True)
    lock = repo.read("gitpipe.lock")
    assert "lr: 0.001" in lock and "steps: 100000.0" in lock and "name: 1e-3" in lock
    repo.gen({"params.yaml": "lr: 0.001\nsteps: 100000.0\nname: '1e-3'\n"})
    assert repo.run("status", "--check").returncode == 0, "the same numbers, written otherwise"


def test_bad_json_and_toml_params_name_the_file(repo: Repo) -> None:
    repo.spec(_stage([{"p.json": ["seed"]}, {"p.toml": ["lr"]}]))
    cases = {
        "p.json": ('{"seed": 1, "seed": 2}', "p.json: key 'seed' is written twice"),
        "p.toml": ("lr = [", "p.toml: invalid TOML"),
    }
    repo.gen({"p.json": '{"seed": 1}', "p.toml": "lr = 1\n"})
    for name, (text, message) in cases.items():
        good = repo.read(name)
        repo.gen({name: text})
        for command in (("validate",), ("repro",), ("status",)):
            done = repo.run(*command)
            assert done.returncode == 2, (command, done.stderr)
            assert message in done.stderr and "Traceback" not in done.stderr
        repo.gen({name: good})
    repo.gen({"p.json": '{"seed": 1,\n "x": }'})
    assert "p.json:2: invalid JSON" in repo.run("validate").stderr
    assert repo.ran() == []


def test_a_missing_or_wrong_wdir_is_refused_before_anything_runs(repo: Repo) -> None:
    repo.spec({"a": {"cmd": "echo a >> ../runs.log && echo hi > out.txt", "wdir": "sub",
                     "outs": ["out.txt"]}})
    for command in ("validate", "repro"):
        done = repo.run(command)
        assert done.returncode == 2, done.stderr
        assert "gitpipe.yaml: stage 'a': wdir 'sub' does not exist" in done.stderr
        assert "hint:" in done.stderr and "Traceback" not in done.stderr
    assert not (repo.path / "sub").exists(), "never created silently"
    (repo.path / "sub").write_text("a file\n")
    assert "wdir 'sub' is not a directory" in repo.run("repro").stderr
    (repo.path / "sub").unlink()
    (repo.path / "sub").symlink_to(repo.path.parent)
    assert "wdir 'sub' resolves outside the repository" in repo.run("validate").stderr
    assert repo.ran() == []
    (repo.path / "sub").unlink()
    (repo.path / "sub").mkdir()
    repo.run("repro", check=True)
    assert (repo.path / "sub/out.txt").read_text() == "hi\n"


def test_a_wdir_that_an_upstream_stage_makes_waits_for_it(repo: Repo) -> None:
    repo.spec({
        "make": {"cmd": ran_cmd("make", "mkdir -p build && echo x > build/seed"),
                 "outs": ["build"]},
        "use": {"cmd": "cat seed > ../used.txt", "wdir": "build", "deps": ["seed"],
                "outs": ["../used.txt"]},
    })
    assert repo.run("validate").returncode == 0
    repo.run("repro", check=True)
    assert repo.read("used.txt") == "x\n"


def test_json_and_toml_params_saved_with_a_byte_order_mark_are_read(repo: Repo) -> None:
    """Some Windows editors and PowerShell save UTF-8 with a byte order mark;
    YAML ignores it, and so do the JSON and TOML readers."""
    (repo.path / "p.json").write_bytes(b"\xef\xbb\xbf" + json.dumps({"seed": 7}).encode())
    (repo.path / "p.toml").write_bytes(b"\xef\xbb\xbf[train]\nlr = 0.1\n")
    repo.spec(_stage([{"p.json": ["seed"]}, {"p.toml": ["train.lr"]}]))
    done = repo.run("repro")
    assert done.returncode == 0, done.stderr
    lock = repo.read("gitpipe.lock")
    assert "p.json:seed: 7" in lock and "p.toml:train.lr: 0.1" in lock

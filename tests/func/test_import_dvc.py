"""`gitpipe import dvc` on dvc.yaml files shaped like real projects', each
written by the test, then validated and run by gitpipe."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

GET_STARTED = """\
stages:
  prepare:
    cmd: mkdir -p data/prepared && cp data/data.xml data/prepared/train.tsv
    deps:
    - data/data.xml
    - src/prepare.py
    params:
    - prepare.seed
    - prepare.split
    outs:
    - data/prepared
  train:
    cmd:
    - echo "training with $(cat data/prepared/train.tsv)" > model.pkl
    - echo done >> model.pkl
    deps:
    - data/prepared
    params:
    - train.n_est
    - other.yaml:
      - depth
    outs:
    - model.pkl:
        desc: the model
  evaluate:
    cmd: echo 0.9 > scores.json && echo recall,precision > prc.csv
    deps:
    - model.pkl
    metrics:
    - scores.json:
        cache: false
    plots:
    - prc.csv:
        cache: false
        x: recall
        y: precision
plots:
- prc.csv:
    x: recall
    y: precision
artifacts:
  model:
    path: model.pkl
"""


def _project(repo: Repo) -> Repo:
    return repo.gen({"data/data.xml": "<xml/>\n", "src/prepare.py": "print(1)\n",
                     "params.yaml": "prepare: {seed: 20170428, split: 0.2}\ntrain: {n_est: 50}\n",
                     "other.yaml": "depth: 3\n"})


def test_a_get_started_pipeline_imports_validates_and_runs(repo: Repo) -> None:
    _project(repo).gen({"dvc.yaml": GET_STARTED})
    done = repo.run("import", "dvc", check=True)
    assert "wrote" in done.stdout and "3 stage(s)" in done.stdout
    assert "top-level `plots`" in done.stderr and "`artifacts`" in done.stderr
    assert "plots are translated as outs" in done.stderr
    spec = yaml.safe_load(repo.read("gitpipe.yaml"))
    stages = spec["stages"]
    assert stages["evaluate"]["outs"] == ["prc.csv"]
    assert stages["evaluate"]["metrics"] == ["scores.json"]
    assert stages["train"]["params"] == ["train.n_est", {"other.yaml": ["depth"]}]
    assert stages["train"]["outs"] == ["model.pkl"]
    repo.run("init", check=True)
    repo.run("validate", check=True)
    repo.run("repro", check=True)
    assert repo.read("model.pkl") == "training with <xml/>\ndone\n"
    assert repo.run("status", "--check").returncode == 0


def test_stage_flags_wdir_and_a_dvc_yaml_in_a_subfolder(repo: Repo) -> None:
    repo.gen({"ml/dvc.yaml": """\
        stages:
          fetch:
            cmd: echo fetched > raw.txt
            wdir: data
            outs:
            - raw.txt:
                persist: true
                remote: backup
            frozen: true
          report:
            cmd: cat data/raw.txt > report.txt
            deps: [data/raw.txt]
            outs:
            - report.txt:
                cache: false
            always_changed: true
            meta: {owner: me}
        """, "ml/data/.keep": ""})
    done = repo.run("import", "dvc", "ml/dvc.yaml", check=True)
    stages = yaml.safe_load(repo.read("gitpipe.yaml"))["stages"]
    assert stages["fetch"] == {"cmd": "echo fetched > raw.txt", "wdir": "ml/data",
                               "frozen": True, "outs": ["raw.txt"], "persist": True}
    assert stages["report"]["wdir"] == "ml" and stages["report"]["always_changed"] is True
    assert "option 'remote' has no gitpipe equivalent" in done.stderr
    assert "`cache: false`" in done.stderr and "field 'meta'" in done.stderr
    repo.run("init", check=True)
    repo.run("validate", check=True)


def test_foreach_matrix_and_vars_are_carried_over(repo: Repo) -> None:
    repo.gen({"dvc.yaml": """\
        vars:
          - params.yaml
          - models: [a, b]
        stages:
          build:
            foreach: ${models}
            do:
              cmd: mkdir -p out && echo ${item} > out/${item}.txt
              outs:
              - out/${item}.txt
          grid:
            matrix:
              lr: [0.1, 0.01]
              depth: [2, 3]
            cmd: mkdir -p grid && echo ${item.lr} ${item.depth} > grid/${item.lr}-${item.depth}.txt
            outs:
            - grid/${item.lr}-${item.depth}.txt
        """})
    repo.run("import", "dvc", check=True)
    spec = yaml.safe_load(repo.read("gitpipe.yaml"))
    assert spec["vars"] == ["params.yaml", {"models": ["a", "b"]}]
    assert spec["stages"]["build"] == {"foreach": "${models}", "do": {
        "cmd": "mkdir -p out && echo ${item} > out/${item}.txt", "outs": ["out/${item}.txt"]}}
    assert spec["stages"]["grid"]["matrix"] == {"lr": [0.1, 0.01], "depth": [2, 3]}
    repo.gen({"params.yaml": "seed: 1\n"})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    assert repo.read("out/b.txt") == "b\n" and repo.read("grid/0.01-3.txt") == "0.01 3\n"
    assert "build@a" in repo.read("gitpipe.lock") and "grid@0.1-2" in repo.read("gitpipe.lock")


def test_an_existing_gitpipe_yaml_is_kept_and_bad_files_are_clear(repo: Repo,
                                                                   tmp_path: Path) -> None:
    repo.gen({"dvc.yaml": "stages: {a: {cmd: 'true'}}\n", "gitpipe.yaml": "stages: {}\n"})
    done = repo.run("import", "dvc")
    assert done.returncode == 2 and "already exists" in done.stderr and "--force" in done.stderr
    assert repo.read("gitpipe.yaml") == "stages: {}\n"
    repo.run("import", "dvc", "--force", check=True)
    assert "a:" in repo.read("gitpipe.yaml")

    cases = {
        "list.yaml": "- just\n- a list\n",
        "bomb.yaml": "a: &a [x, x]\n" + "".join(f"b{i}: &b{i} [*a, *a]\n" for i in range(200)),
        "stage.yaml": "stages: {a: [not, a, mapping]}\n",
        "outs.yaml": "stages: {a: {cmd: x, outs: [[nested]]}}\n",
    }
    for name, text in cases.items():
        repo.gen({name: text})
        before = snapshot(tmp_path)
        done = repo.run("import", "dvc", name, "-o", "out.yaml")
        assert done.returncode == 2, (name, done.stderr)
        assert name in done.stderr and "Traceback" not in done.stderr
        assert_only_changed(before, snapshot(tmp_path))
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("stages: {}\n")
    done = repo.run("import", "dvc", str(outside), "-o", "x.yaml")
    assert done.returncode == 2 and "outside the project folder" in done.stderr


def test_a_symlinked_gitpipe_yaml_is_never_written_through(repo: Repo, tmp_path: Path) -> None:
    repo.gen({"dvc.yaml": "stages: {a: {cmd: 'true'}}\n"})
    victim = tmp_path / "victim.sh"
    (repo.path / "gitpipe.yaml").symlink_to(victim)
    before = snapshot(tmp_path)
    for args in (("import", "dvc"), ("import", "dvc", "--force")):
        done = repo.run(*args)
        assert done.returncode == 2 and "is a symlink" in done.stderr
    assert not victim.exists()
    assert_only_changed(before, snapshot(tmp_path))


def test_templates_in_a_subfolder_dvc_yaml_get_a_note(repo: Repo) -> None:
    repo.gen({"sub/dvc.yaml": "vars: [v.yaml]\nstages:\n  t:\n    cmd: echo ${name} > o.txt\n"})
    done = repo.run("import", "dvc", "sub/dvc.yaml", check=True)
    assert "gitpipe reads them from the project root" in done.stderr


def test_the_file_named_where_the_tool_goes_says_the_command(repo: Repo) -> None:
    """A DVC user types `gitpipe import dvc.yaml`: the hint is the command
    that reads it; a name that is no file of a tool stays click's error."""
    done = repo.run("import", "dvc.yaml")
    assert done.returncode == 2, done.stderr
    assert "hint: name the tool first: gitpipe import dvc dvc.yaml" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    other = repo.run("import", "pipeline")
    assert other.returncode == 2 and "hint:" not in other.stderr, other.stderr


def test_dvc_import_of_a_repository_s_data_says_what_to_do_instead(repo: Repo) -> None:
    """`dvc import URL PATH` gets data from another repository; typed as
    `gitpipe import URL PATH` it was click's bare `No such command`."""
    done = repo.run("import", "https://github.com/example/registry", "data/data.xml")
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.splitlines()[-1] == (
        "hint: 'gitpipe import dvc' reads a dvc.yaml; DVC's 'dvc import URL PATH' has no "
        "equivalent: clone that repository and 'gitpipe pull PATH' there, or let a stage's "
        "command download it (docs/howto/dvc.md)"), done.stderr
    assert not (repo.path / "gitpipe.yaml").exists()

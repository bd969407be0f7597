"""The CI recipes in examples/ci/ parse, and their shell steps work: run in order,
as the CI would, against a local bare repository (the origin) and a folder
remote, with the real gitpipe.

What a CI machine has and this test does not is replaced through the small
tables below, so that the recipes stay exactly what users copy."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import yaml

from tests.conftest import GIT_ENV, Repo

RECIPES = Path(__file__).resolve().parents[2] / "examples" / "ci"

# The recipes' install line: this interpreter already has gitpipe (a shim on PATH runs it).
INSTALL = "pip install 'gitpipe-ml[s3]'"
# GitHub's actions, each as what it does here.
CHECKOUT, SETUP_PYTHON = "actions/checkout@v4", "actions/setup-python@v5"
# Steps that only talk to GitHub's API.
GITHUB_NOT_RUN = {"Comment the plan"}
# How GitHub runs a `run:` step: with `shell: bash` named, `-eo pipefail`;
# without a shell named, `bash -e` (no pipefail).
GITHUB_SHELLS = {"bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail"],
                 None: ["bash", "-e"]}
# GitLab's runner modelled without pipefail, so that the recipe's own
# `set -o pipefail` is what makes a failed pipe fail.
GITLAB_SHELL = ["bash", "-e"]


@dataclass(frozen=True)
class Event:
    """A GitHub event: its name, the pull request's number, the secrets it gets."""

    name: str
    pr: str = "7"
    signing_key: str = ""  # the secret's value: main's private key (a push event only)


def github_expression(expression: str, event: Event) -> str | bool:
    """The value of a `${{ … }}` or `if:` expression of the GitHub recipe here."""
    values: dict[str, str | bool] = {
        "secrets.AWS_ACCESS_KEY_ID": "local-key", "secrets.AWS_SECRET_ACCESS_KEY": "local",
        "secrets.GITPIPE_SIGNING_KEY": event.signing_key,
        "github.token": "", "github.event.pull_request.number": event.pr,
        "github.event_name == 'pull_request'": event.name == "pull_request",
        "github.event_name == 'push'": event.name == "push",
    }
    assert expression in values, f"the test does not know the expression {expression!r}"
    return values[expression]


@dataclass
class Place:
    """The origin (a bare repository), the folder remote and the tools on PATH."""

    tmp: Path
    origin: Path
    store: Path
    ran: Path  # each stage command appends its name here
    env: dict[str, str] = field(default_factory=dict)
    signing_key: str = ""  # main's SSH private key (the CI secret); its public key is trusted

    def clone(self, name: str, branch: str = "main") -> Path:
        """A fresh clone of `branch`, as each CI run (and each GitLab job) makes."""
        work, count = self.tmp / name, 1
        while work.exists():
            count += 1
            work = self.tmp / f"{name}-{count}"
        # Shallow, as actions/checkout (depth 1) and GitLab (GIT_DEPTH 20) clone.
        subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", branch,
                        self.origin.as_uri(), str(work)],
                       env=self.env, check=True, capture_output=True)
        return work

    def stages_ran(self) -> list[str]:
        names = self.ran.read_text().split() if self.ran.exists() else []
        self.ran.unlink(missing_ok=True)
        return names

    def objects_on_remote(self) -> int:
        return sum(1 for p in self.store.rglob("*") if p.is_file())

    def entries(self, where: str = "runs") -> dict[str, list[dict[str, str]]]:
        """The run-cache entries below `where` on the remote, with their signatures."""
        return {p.relative_to(self.store).as_posix(): json.loads(p.read_text())["signatures"]
                for p in (self.store / where).rglob("*") if p.is_file()}

    def event(self, name: str, pr: str = "7") -> Event:
        if name == "push":  # no pull request; main's secrets
            return Event(name, "", self.signing_key)
        return Event(name, pr)


def _stages(ran: Path, lr_cmd_suffix: str = "") -> dict[str, Any]:
    return {
        "prepare": {"cmd": f"echo prepare >> {ran} && echo rows > data.txt",
                    "outs": ["data.txt"]},
        "train": {"cmd": f"echo train >> {ran} && python -c \"import yaml; "
                         "print(yaml.safe_load(open('params.yaml'))['train']['lr'])\" "
                         f"> model.txt{lr_cmd_suffix}",
                  "deps": ["data.txt"], "params": ["train"], "outs": ["model.txt"]},
    }


@pytest.fixture
def place(tmp_path: Path) -> Place:
    """A pipeline reproduced and pushed by a developer: its commit on the origin's
    main, its outs and run-cache entries on the folder remote."""
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "gitpipe").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m gitpipe "$@"\n')
    (tools / "gitpipe").chmod(0o755)
    path = f"{tools}:{Path(sys.executable).parent}:{os.environ['PATH']}"
    env = {**os.environ, **GIT_ENV, "PATH": path, "NO_COLOR": "1", "HOME": str(tmp_path)}
    keys = tmp_path / "keys"
    keys.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ci@main", "-f",
                    str(keys / "main")], check=True, capture_output=True)
    found = Place(tmp_path, tmp_path / "origin.git", tmp_path / "store", tmp_path / "ran.log",
                  env, (keys / "main").read_text())
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(found.origin)], check=True)
    (tmp_path / "dev").mkdir()
    dev = Repo(tmp_path / "dev")
    dev.gen({"params.yaml": {"train": {"lr": 0.1}}})
    dev.spec(_stages(found.ran))
    for args in (["init"], ["remote", "add", "-d", "store", str(found.store)]):
        dev.run(*args, check=True)
    # As docs/ci.md sets it up: main's public key trusted in the main scope, and
    # a pull request's own scope trusted for what its runs wrote there.
    config = dev.path / ".gitpipe/config.yaml"
    settings = yaml.safe_load(config.read_text())
    settings["remotes"]["store"].update(
        trust=[{"ssh": (keys / "main.pub").read_text().strip()}], scope_trust="any")
    config.write_text(yaml.safe_dump(settings))
    for args in (["repro"], ["push"]):
        done = dev.run(*args, env={"PATH": path})
        assert done.returncode == 0, done.stderr
    dev.commit("pipeline")
    dev.git("push", "-q", str(found.origin), "HEAD:main")
    found.stages_ran()
    return found


def _develop(place: Place, branch: str, edit: dict[str, Any]) -> None:
    """A branch on the origin, from the first main, that edits files and is
    committed without a repro."""
    dev = Repo(place.tmp / "dev", init=False)
    dev.git("checkout", "-q", "-B", branch, "main")
    dev.gen(edit, commit=f"{branch}: edit")
    dev.git("push", "-q", str(place.origin), f"HEAD:{branch}")


def _load(name: str) -> dict[Any, Any]:
    loaded = yaml.safe_load((RECIPES / name).read_text())
    assert isinstance(loaded, dict)
    return loaded


def _script(text: str) -> str:
    assert INSTALL in text or "pip install" not in text, text
    return text.replace(INSTALL, ": gitpipe is installed")


@dataclass
class Step:
    name: str
    done: subprocess.CompletedProcess[str]
    script: str
    cwd: Path
    env: dict[str, str]


def _expand(text: str, event: Event) -> str:
    return re.sub(r"\$\{\{\s*(.*?)\s*\}\}", lambda m: str(github_expression(m.group(1), event)),
                  text)


def run_github(place: Place, event: Event, branch: str = "main") -> list[Step]:
    """The GitHub recipe's steps in order, until one fails: what each did. The
    runner's temp folder and `$GITHUB_ENV` (variables a step sets for the
    later ones) are files here too."""
    recipe = _load("github-actions.yml")
    job = recipe["jobs"]["repro"]
    shell = GITHUB_SHELLS[recipe.get("defaults", {}).get("run", {}).get("shell")]
    runner_temp = Path(tempfile.mkdtemp(prefix="runner-temp-", dir=place.tmp))
    github_env = runner_temp / "github-env"
    env = {**place.env, "GITHUB_EVENT_NAME": event.name, "RUNNER_TEMP": str(runner_temp),
           "GITHUB_ENV": str(github_env),
           **{k: _expand(str(v), event) for k, v in job["env"].items()}}
    work, steps = place.tmp / f"gh-{event.name}-{branch}", []
    for step in job["steps"]:
        if step.get("uses") == CHECKOUT:
            work = place.clone(work.name, branch)
            continue
        if step.get("uses") == SETUP_PYTHON:
            continue
        assert "uses" not in step, f"the test does not know the action {step['uses']}"
        condition = step.get("if")
        if step["name"] in GITHUB_NOT_RUN or (
                condition is not None and not github_expression(condition, event)):
            continue
        step_env = {**env, **{k: _expand(str(v), event) for k, v in step.get("env", {}).items()}}
        script = _script(_expand(step["run"], event))
        done = _shell(shell, script, work, step_env)
        steps.append(Step(step["name"], done, script, work, step_env))
        if done.returncode:
            break
        for line in github_env.read_text().splitlines() if github_env.exists() else ():
            name, _, value = line.partition("=")
            env[name] = value
    return steps


def _shell(shell: list[str], script: str, cwd: Path, env: dict[str, str]
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*shell, "-c", script], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def run_gitlab(place: Place, variables: dict[str, str], branch: str = "main"
               ) -> dict[str, subprocess.CompletedProcess[str]]:
    """The GitLab recipe's jobs, stage by stage, each in a fresh clone with the
    artifacts of the jobs before it, until one fails."""
    recipe = _load("gitlab-ci.yml")
    jobs = {name: body for name, body in recipe.items()
            if isinstance(body, dict) and "stage" in body}
    env = {**place.env, **recipe["variables"], **variables}
    artifacts, results = Path(tempfile.mkdtemp(prefix="artifacts-", dir=place.tmp)), {}
    for stage in recipe["stages"]:
        for name in [n for n, body in jobs.items() if body["stage"] == stage]:
            work = place.clone(f"gl-{name}", branch)
            shutil.copytree(artifacts, work, dirs_exist_ok=True)
            lines = [*recipe["default"]["before_script"], *jobs[name]["script"]]
            done = _shell(GITLAB_SHELL, _script("\n".join(lines)), work, env)
            results[name] = done
            if done.returncode:
                return results
            for kept in jobs[name].get("artifacts", {}).get("paths", []):
                shutil.copy2(work / kept, artifacts / kept)
    return results


def _ok(steps: list[Step]) -> dict[str, Step]:
    for step in steps:
        assert step.done.returncode == 0, (step.name, step.done.stdout, step.done.stderr)
    return {step.name: step for step in steps}


def test_the_recipes_parse_and_ask_only_for_what_they_use() -> None:
    github, gitlab = _load("github-actions.yml"), _load("gitlab-ci.yml")
    # Least privilege: reading the repository, and writing only the comment it posts.
    assert github["permissions"] == {"contents": "read"}
    job = github["jobs"]["repro"]
    assert job["permissions"] == {"contents": "read", "pull-requests": "write"}
    writers = [s for s in job["steps"] if "gh pr comment" in s.get("run", "")]
    assert [s["name"] for s in writers] == sorted(GITHUB_NOT_RUN)
    assert github["defaults"]["run"]["shell"] == "bash"
    assert gitlab["default"]["before_script"][0] == "set -o pipefail"
    # Both install this project by its distribution name, as the table replaces it.
    assert INSTALL in (RECIPES / "github-actions.yml").read_text()
    assert INSTALL in gitlab["default"]["before_script"]


def test_github_on_a_fresh_clone_pulls_before_planning_and_reruns_nothing(
        place: Place) -> None:
    steps = _ok(run_github(place, place.event("pull_request")))
    assert "Comment the plan" not in steps  # never run here: it talks to GitHub
    work = steps["Write the comment from the plan"].cwd
    plan = yaml.safe_load((work / "plan.json").read_text())
    assert plan["stale"] is False, plan
    assert (work / "comment.md").read_text() == "gitpipe plan: nothing is stale\n"
    assert place.stages_ran() == []
    assert (work / "model.txt").read_text() == "0.1\n"


def test_github_on_a_pull_request_reruns_what_changed_and_shares_only_from_main(
        place: Place) -> None:
    _develop(place, "faster", {"params.yaml": {"train": {"lr": 0.2}}})
    main_entries = place.entries()
    steps = _ok(run_github(place, place.event("pull_request"), "faster"))
    comment = (steps["Write the comment from the plan"].cwd / "comment.md").read_text()
    assert comment == ("gitpipe plan: 1 stale stage(s)\n"
                       "- **train**: params: train.lr 0.1 -> 0.2\n"), comment
    assert place.stages_ran() == ["train"]
    # The pull request wrote its own scope, unsigned (it holds no key), never main's.
    assert place.entries() == main_entries
    assert list(place.entries("scopes/pr-7").values()) == [[]]
    # Its next run (a new push to the pull request) restores from its scope.
    _ok(run_github(place, place.event("pull_request"), "faster"))
    assert place.stages_ran() == []
    # Merged to main (a push event): main does not read pr-7, so it computes
    # train once more and shares it in the main scope, signed with main's key.
    Repo(place.tmp / "dev", init=False).git("push", "-q", str(place.origin), "faster:main")
    _ok(run_github(place, place.event("push")))
    assert place.stages_ran() == ["train"]
    signed = {key: sigs for key, sigs in place.entries().items() if key not in main_entries}
    assert [[next(iter(sig)) for sig in sigs] for sigs in signed.values()] == [["ssh"]], signed
    # Another pull request with the same change: restored from main's signed
    # entry, checked with the public key alone.
    _develop(place, "same-change", {"params.yaml": {"train": {"lr": 0.2}}})
    steps = _ok(run_github(place, place.event("pull_request", pr="8"), "same-change"))
    assert place.stages_ran() == [], steps["Reproduce what is stale (restore what main or this "
                                           "pull request computed, run the rest)"].done.stderr


def test_a_failing_repro_fails_its_step_despite_the_pipe(place: Place) -> None:
    stages = _stages(place.ran, lr_cmd_suffix=" && exit 3")
    _develop(place, "broken", {"gitpipe.yaml": {"stages": stages}})
    steps = run_github(place, place.event("pull_request"), "broken")
    failed = steps[-1]
    assert failed.name.startswith("Reproduce") and failed.done.returncode != 0, failed.done
    assert "train" in (failed.cwd / "repro.log").read_text()
    # Without pipefail, `tee` would have hidden it: the same script under `bash -e`.
    unguarded = failed.script.replace("set -o pipefail\n", "")
    assert _shell(GITHUB_SHELLS[None], unguarded, failed.cwd, failed.env).returncode == 0
    results = run_gitlab(place, {"CI_PIPELINE_SOURCE": "merge_request_event",
                                 "CI_DEFAULT_BRANCH": "main"}, "broken")
    assert results["plan"].returncode == 0 and results["repro"].returncode != 0


@pytest.fixture
def gitlab_api() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local HTTP server in GitLab's place: its API URL, and the requests it got."""
    got: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            got.append({"path": self.path, "token": self.headers["PRIVATE-TOKEN"],
                        "form": parse_qs(body)})
            self.send_response(201)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/v4", got
    server.shutdown()
    thread.join()


def test_gitlab_plans_on_a_merge_request_and_shares_from_the_default_branch(
        place: Place, gitlab_api: tuple[str, list[dict[str, Any]]]) -> None:
    _develop(place, "faster", {"params.yaml": {"train": {"lr": 0.2}}})
    main_entries = place.entries()
    api, notes = gitlab_api
    merge_request = {"CI_PIPELINE_SOURCE": "merge_request_event", "CI_DEFAULT_BRANCH": "main",
                     "CI_MERGE_REQUEST_IID": "7", "CI_PROJECT_ID": "42", "CI_API_V4_URL": api,
                     "GITPIPE_NOTE_TOKEN": "note-token"}
    results = run_gitlab(place, merge_request, "faster")
    assert {n: r.returncode for n, r in results.items()} == {"plan": 0, "repro": 0}, results
    plan = "gitpipe plan: 1 stale stage(s)\n- **train**: params: train.lr 0.1 -> 0.2\n"
    assert plan in results["plan"].stdout
    # The plan went to the merge request as a note, with the token.
    assert notes == [{"path": "/api/v4/projects/42/merge_requests/7/notes",
                      "token": "note-token", "form": {"body": [plan]}}]
    assert place.stages_ran() == ["train"] and place.entries() == main_entries
    assert list(place.entries("scopes/mr-7").values()) == [[]]  # its own scope, unsigned
    # The default branch's pipelines get the protected File variable: the key's path.
    main = {"CI_PIPELINE_SOURCE": "push", "CI_DEFAULT_BRANCH": "main", "CI_COMMIT_BRANCH": "main",
            "CI_PROJECT_ID": "42", "CI_API_V4_URL": api, "GITPIPE_NOTE_TOKEN": "note-token",
            "GITPIPE_SIGNING_KEY": str(place.tmp / "keys/main")}
    results = run_gitlab(place, main)
    assert len(notes) == 1  # no merge request, no note
    assert "gitpipe plan: nothing is stale" in results["plan"].stdout, results["plan"]
    assert results["repro"].returncode == 0 and place.stages_ran() == []
    Repo(place.tmp / "dev", init=False).git("push", "-q", str(place.origin), "faster:main")
    results = run_gitlab(place, main)
    assert results["repro"].returncode == 0 and place.stages_ran() == ["train"]
    signed = {key: sigs for key, sigs in place.entries().items() if key not in main_entries}
    assert [[next(iter(sig)) for sig in sigs] for sigs in signed.values()] == [["ssh"]], signed
    # A merge request with the same change restores main's signed entry.
    _develop(place, "same-change", {"params.yaml": {"train": {"lr": 0.2}}})
    results = run_gitlab(place, {**merge_request, "CI_MERGE_REQUEST_IID": "8"}, "same-change")
    assert results["repro"].returncode == 0 and place.stages_ran() == [], results["repro"]

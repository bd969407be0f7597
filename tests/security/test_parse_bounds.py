"""Attacks through what a cloned repository's files hold before any stage runs:
numbers too long to build or print, nesting, text that is not UTF-8, date
ranges past what a date can name. Each commits the crafted file, runs the CLI
on the repository and compares a snapshot of the whole temp tree before and
after: a clear error naming the file (and line), exit 2, no traceback, nothing
written but gitpipe's own bookkeeping."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import Repo
from tests.security.conftest import assert_only_changed, snapshot

BOOKKEEPING = ["repo/.gitpipe"]
LONG = "1" * 100_000


def _refused(done: subprocess.CompletedProcess, *phrases: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "unexpected" not in done.stderr, done.stderr
    for phrase in phrases:
        assert phrase in done.stderr, done.stderr


def _ran_with_params(repo: Repo, params_file: str, text: str) -> None:
    """A pipeline whose stage reads `lr` from `params_file`, run and committed."""
    repo.gen({params_file: text, "in.txt": "x\n"})
    ref = "lr" if params_file == "params.yaml" else {params_file: ["lr"]}
    repo.spec({"make": {"cmd": "cat in.txt > o.txt", "deps": ["in.txt"], "params": [ref],
                        "outs": ["o.txt"]}})
    assert repo.run("repro", timeout=60).returncode == 0
    repo.commit("pipeline")


def _attack(repo: Repo, tmp_path: Path, files: dict[str, str | bytes],
            *commands: tuple[str, ...]) -> list[subprocess.CompletedProcess]:
    repo.gen(files, commit="crafted")
    before = snapshot(tmp_path)
    done = [repo.run(*command, timeout=60) for command in commands]
    assert_only_changed(before, snapshot(tmp_path), BOOKKEEPING)
    return done


YAML_REFUSED = "params.yaml:1: invalid YAML: a number of"


@pytest.mark.parametrize(("params_file", "good", "crafted", "message"), [
    ("params.yaml", "lr: 1\n", f"lr: {LONG}\n", f"{YAML_REFUSED} 100,000 characters"),
    ("params.yaml", "lr: 1\n", "lr: 0x" + "f" * 100_000 + "\n", YAML_REFUSED),
    # YAML 1.1's base 60: built digit by digit, in time quadratic in its length.
    ("params.yaml", "lr: 1\n", "lr: 1" + ":59" * 300_000 + "\n", YAML_REFUSED),
    ("params.json", '{"lr": 1}', f'{{\n"lr": {LONG}}}', "params.json:2: invalid JSON: a number"),
    ("params.toml", "lr = 1\n", f"\nlr = {LONG}\n", "params.toml:2: invalid TOML: a number"),
    ("params.toml", "lr = 1\n", "lr = 0x" + "f" * 100_000 + "\n", "params.toml: holds an integer"),
], ids=["yaml", "yaml-hex", "yaml-base60", "json", "toml", "toml-hex"])
def test_a_param_too_long_to_print_is_refused_naming_the_file(
        repo: Repo, tmp_path: Path, params_file: str, good: str, crafted: str,
        message: str) -> None:
    _ran_with_params(repo, params_file, good)
    started = time.monotonic()
    for done in _attack(repo, tmp_path, {params_file: crafted},
                        ("status",), ("validate",), ("params", "diff", "HEAD~1")):
        _refused(done, message)
    assert time.monotonic() - started < 60


@pytest.mark.parametrize("number", [LONG, "0x" + "f" * 100_000], ids=["decimal", "hex"])
def test_a_lock_or_spec_number_too_long_to_print_is_refused_with_its_line(
        repo: Repo, tmp_path: Path, number: str) -> None:
    _ran_with_params(repo, "params.yaml", "lr: 1\n")
    lock = repo.read("gitpipe.lock").replace("lr: 1", f"lr: {number}")
    for done in _attack(repo, tmp_path, {"gitpipe.lock": lock}, ("status",), ("checkout",)):
        _refused(done, "gitpipe.lock:", "a number of 100,0")
    spec = repo.read("gitpipe.yaml") + f"vars:\n- n: {number}\n"
    for done in _attack(repo, tmp_path, {"gitpipe.yaml": spec}, ("status",), ("dag",)):
        _refused(done, "gitpipe.yaml:", "a number of 100,0")


def test_toml_params_nested_too_deeply_are_refused(repo: Repo, tmp_path: Path) -> None:
    _ran_with_params(repo, "params.toml", "lr = 1\n")
    crafted = "lr = " + "[" * 100_000 + "]" * 100_000 + "\n"
    for done in _attack(repo, tmp_path, {"params.toml": crafted}, ("status",), ("validate",)):
        _refused(done, "params.toml: invalid TOML: nested too deeply")


@pytest.mark.parametrize("name", ["gitpipe.lock", "params.yaml", "gitpipe.yaml",
                                  ".gitpipe/config.yaml"])
def test_a_file_that_is_not_utf8_is_refused_naming_its_line(
        repo: Repo, tmp_path: Path, name: str) -> None:
    _ran_with_params(repo, "params.yaml", "lr: 1\n")
    data = (repo.path / name).read_bytes() if (repo.path / name).exists() else b"core: {}\n"
    crafted = data.rstrip(b"\n") + b"\n# caf\xe9\n"
    line = crafted.count(b"\n")
    for done in _attack(repo, tmp_path, {name: crafted}, ("status",), ("diff", "HEAD~1")):
        _refused(done, f"{name}:{line}: not UTF-8 text (byte 0xe9")


@pytest.mark.parametrize(("partition", "message"), [
    ("{by: date, start: 0001-01-01, end: 9999-12-31, freq: daily}",
     "end 9999-12-31 is the last day a date can name"),
    ("{by: date, start: 1900-01-01T00, end: 1999-12-31T23, freq: hourly}",
     "makes more than 200,000 hourly partitions"),
], ids=["year-1-to-9999", "hourly-century"])
def test_a_date_range_no_machine_could_make_is_refused_naming_the_stage(
        repo: Repo, tmp_path: Path, partition: str, message: str) -> None:
    spec = ("stages:\n  p:\n"
            f"    partition: {partition}\n"
            "    cmd: echo ${date} > o-${date}\n    outs: ['o-${date}']\n")
    started = time.monotonic()
    for done in _attack(repo, tmp_path, {"gitpipe.yaml": spec},
                        ("status",), ("validate",), ("dag",), ("backfill", "p", "--dry-run")):
        _refused(done, "gitpipe.yaml:3: stage 'p': partition:", message)
    assert time.monotonic() - started < 60


def test_a_monthly_range_to_the_last_month_a_date_can_name_ends_there(
        repo: Repo, tmp_path: Path) -> None:
    spec = ("stages:\n  p:\n"
            "    partition: {by: date, start: 9999-10-01, end: 9999-12-30, freq: monthly}\n"
            "    cmd: echo ${date} > o-${date}\n    outs: ['o-${date}']\n")
    (done,) = _attack(repo, tmp_path, {"gitpipe.yaml": spec}, ("backfill", "p", "--dry-run"))
    assert done.returncode == 0, done.stderr
    assert "9999-12-01" in done.stdout and "Traceback" not in done.stderr


@pytest.mark.parametrize("name", ["gitpipe.lock", "params.yaml", "gitpipe.yaml"])
def test_a_nul_byte_is_refused_naming_its_line(repo: Repo, tmp_path: Path, name: str) -> None:
    _ran_with_params(repo, "params.yaml", "lr: 1\n")
    crafted = repo.read(name).rstrip("\n") + "\n# a\0b\n"
    line = crafted.count("\n")
    for done in _attack(repo, tmp_path, {name: crafted}, ("status",), ("diff", "HEAD~1")):
        _refused(done, f"{name}:{line}: invalid YAML: character 0x0000")


@pytest.mark.parametrize("kind", ["foreach", "partition"])
def test_a_long_command_times_many_nodes_is_refused_before_they_are_made(
        repo: Repo, tmp_path: Path, kind: str) -> None:
    # A 1 MB value from params.yaml rendered into each of 20,000 items' commands
    # (20 GB of Tasks), or a 2 MB command over 300 years of daily partitions.
    if kind == "foreach":
        items = ", ".join(f"i{i}" for i in range(20_000))
        files = {"params.yaml": f"big: {'x' * 1_000_000}\n",
                 "gitpipe.yaml": "stages:\n  p:\n    foreach: [" + items + "]\n    do:\n"
                                 "      cmd: echo ${big} ${item}\n      outs: ['o-${item}']\n"}
    else:
        files = {"gitpipe.yaml": "stages:\n  p:\n    partition: {by: date, start: 2000-01-01, "
                                 "end: 2300-01-01, freq: daily}\n    cmd: echo ${date} "
                                 + "y" * 2_000_000 + "\n    outs: ['o-${date}']\n"}
    started = time.monotonic()
    for done in _attack(repo, tmp_path, files, ("status",), ("validate",)):
        _refused(done, "gitpipe.yaml:", "stage 'p': ", "nodes of",
                 "each make more than 268,435,456 characters")
    assert time.monotonic() - started < 120


def test_a_long_value_named_many_times_in_one_command_is_refused(
        repo: Repo, tmp_path: Path) -> None:
    # 300 × an 8 MB params value: 2.4 GB built in memory for one command.
    files = {"params.yaml": f"big: {'x' * 8_000_000}\n",
             "gitpipe.yaml": "stages:\n  p:\n    cmd: echo " + "${big}" * 300 + "\n"
                             "    outs: [o]\n"}
    for done in _attack(repo, tmp_path, files, ("status",), ("validate",)):
        _refused(done, "gitpipe.yaml:3: stage 'p': ${big}: the text renders to more than "
                 "1,048,576 characters")


def test_a_number_too_large_for_a_float_is_refused(repo: Repo, tmp_path: Path) -> None:
    # 400 digits print, but a timeout or a compared param becomes a float:
    # "OverflowError: int too large to convert to float".
    _ran_with_params(repo, "params.yaml", "lr: 1\n")
    spec = repo.read("gitpipe.yaml") + f"    timeout: {'9' * 400}\n"
    for done in _attack(repo, tmp_path, {"gitpipe.yaml": spec, "params.yaml": f"lr: {'9' * 400}\n"},
                        ("validate",), ("repro", "--dry-run"), ("params", "diff", "HEAD~1")):
        _refused(done, ":", "invalid YAML: a number of 400 characters (at most 300)")


@pytest.mark.parametrize("timeout", ["1.0e+300", "9" * 320 + "s", "400000d"])
def test_a_timeout_longer_than_a_timer_can_wait_is_refused(
        repo: Repo, tmp_path: Path, timeout: str) -> None:
    # A finite float may still be past what a timed wait takes (or turn
    # infinite with its unit): the stage's timer thread died with
    # "OverflowError: timestamp out of range for platform time_t", printing
    # a traceback, and the stage ran with no timeout at all.
    _ran_with_params(repo, "params.yaml", "lr: 1\n")
    spec = repo.read("gitpipe.yaml") + f"    timeout: {timeout}\n"
    for done in _attack(repo, tmp_path, {"gitpipe.yaml": spec}, ("validate",), ("repro",)):
        _refused(done, "gitpipe.yaml:", "stage 'make': 'timeout'", "at most 100 years")

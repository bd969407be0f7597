"""The backfill benchmark's figures: per partition on the disk and on a RAM file
system, the file-cost probe, and the bare runner starting commands as gitpipe does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_peers  # noqa: E402  (a script, found on the path set above)


def _figure(seconds: float, cpu: float) -> bench_peers.Figure:
    return bench_peers.Figure("label", [seconds], [0], [{"cpu_s": cpu}])


def test_each_place_gets_its_marginal_cost_per_partition() -> None:
    figs = {"gitpipe": _figure(3.0, 2.0), "gitpipe-1": _figure(0.5, 0.2),
            "gitpipe-ram": _figure(2.0, 1.0), "gitpipe-ram-1": _figure(0.5, 0.1),
            "make-ram": _figure(0.3, 0.3)}  # no make-ram-1: no marginal for it
    per = bench_peers.per_partition_ms(figs, 10)
    assert sorted(per) == ["gitpipe", "gitpipe-ram"]
    assert abs(per["gitpipe"]["cpu_marginal"] - 1000 * 1.8 / 9) < 1e-9
    assert abs(per["gitpipe-ram"]["cpu_marginal"] - 1000 * 0.9 / 9) < 1e-9


def test_the_table_names_the_ram_rows_and_the_file_costs() -> None:
    row = {"wall_whole": 1.0, "cpu_whole": 1.0, "wall_marginal": 1.0, "cpu_marginal": 1.0}
    res = {"days": 365, "load_avg": [1.0], "per_partition_ms": {"gitpipe": row, "gitpipe-ram": row},
           "file_costs_us": {"": {"folder_us": 300.0, "file_in_new_folder_us": 400.0,
                                  "file_in_one_folder_us": 100.0},
                             "-ram": {"folder_us": 7.0, "file_in_new_folder_us": 15.0,
                                      "file_in_one_folder_us": 14.0}}}
    text = "\n".join(bench_peers.per_partition_markdown(res))
    assert "| gitpipe backfill, on a RAM file system |" in text
    assert "on the benchmark's disk, same rounds (CPU, median): a folder 300 µs" in text
    assert "on a RAM file system, same rounds (CPU, median): a folder 7 µs" in text


def test_the_file_probe_measures_and_leaves_nothing(tmp_path: Path) -> None:
    probe = tmp_path / "probe"
    costs = bench_peers.file_costs(probe, 20).extra
    assert {"folder_us", "file_in_new_folder_us", "file_in_one_folder_us"} <= set(costs)
    assert all(costs[k] >= 0 for k in ("folder_us", "file_in_new_folder_us"))
    assert not probe.exists()


def _floor(tmp_path: Path, stages: list[dict[str, object]],
           *extra: str) -> subprocess.CompletedProcess[str]:
    dag = tmp_path / "dag.json"
    dag.write_text(json.dumps(stages))
    # No PWD: /bin/sh exports one to its command, an exec'd program gets none.
    env = {k: v for k, v in os.environ.items() if k != "PWD"}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / "floor_runner.py"),
                           str(dag), "2", *extra], cwd=tmp_path, env=env, capture_output=True,
                          text=True, check=False)


def test_the_bare_runner_execs_plain_words_as_gitpipe_does(tmp_path: Path) -> None:
    done = _floor(tmp_path, [{"name": "plain", "cmd": "env", "needs": []},
                             {"name": "shell", "cmd": "env > out/env", "needs": ["plain"]}])
    assert done.returncode == 0, done.stderr
    assert not _names_pwd((tmp_path / ".floor-logs" / "plain.log").read_text())
    assert _names_pwd((tmp_path / "out" / "env").read_text())  # that one needs the shell


def _names_pwd(env_output: str) -> bool:
    return any(line.startswith("PWD=") for line in env_output.splitlines())


def test_a_program_the_exec_cannot_start_goes_to_the_shell(tmp_path: Path) -> None:
    done = _floor(tmp_path, [{"name": "missing", "cmd": "no-such-program-here", "needs": []}])
    assert done.returncode != 0 and "missing: exit 127" in done.stderr
    assert "not found" in (tmp_path / ".floor-logs" / "missing.log").read_text()


def test_the_runner_with_books_caches_each_out_and_records_each_run(tmp_path: Path) -> None:
    import xxhash

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("1,2\n")
    done = _floor(tmp_path, [
        {"name": "one", "cmd": "cat data/a.csv > out/one", "needs": [],
         "reads": ["data"], "writes": ["out/one"]},
        {"name": "two", "cmd": "cat out/one out/one > out/two", "needs": ["one"],
         "reads": ["out/one"], "writes": ["out/two"]}], "--books")
    assert done.returncode == 0, done.stderr
    lock = json.loads((tmp_path / ".floor-lock.json").read_text())
    for name, body in (("one", b"1,2\n"), ("two", b"1,2\n1,2\n")):
        digest = xxhash.xxh3_128_hexdigest(body)
        assert lock[name]["outs"] == {f"out/{name}": digest}
        assert (tmp_path / ".floor-cache" / "files" / digest[:2] / digest[2:]).read_bytes() == body
        entry = tmp_path / ".floor-cache" / "runs" / name / lock[name]["fingerprint"]
        assert json.loads(entry.read_text()) == {f"out/{name}": digest}
    assert lock["one"]["deps"] == {"data/a.csv": xxhash.xxh3_128_hexdigest(b"1,2\n")}


def test_the_runner_keeps_its_run_entries_where_it_is_told(tmp_path: Path) -> None:
    stage = {"name": "one", "cmd": "echo 1 > out/one", "needs": [], "reads": [],
             "writes": ["out/one"]}
    kept = {}
    for entries in ("flat", "none"):
        repo = tmp_path / entries
        repo.mkdir()
        done = _floor(repo, [stage], "--books", f"--run-entries={entries}")
        assert done.returncode == 0, done.stderr
        lock = json.loads((repo / ".floor-lock.json").read_text())
        runs = repo / ".floor-cache" / "runs"
        kept[entries] = ([p.relative_to(runs).as_posix() for p in runs.rglob("*")],
                         lock["one"]["fingerprint"])
    assert kept["flat"] == ([f"one.{kept['flat'][1]}"], kept["flat"][1])
    assert kept["none"][0] == []
    done = _floor(tmp_path, [stage], "--books", "--run-entries=elsewhere")
    assert done.returncode != 0 and "--run-entries: one of folder, flat, none" in done.stderr


def test_the_runner_with_env_gives_each_command_gitpipes_variables(tmp_path: Path) -> None:
    done = _floor(tmp_path, [{"name": "day@2024-01-01", "cmd": "env", "needs": []},
                             {"name": "day@2024-01-02", "cmd": "env", "needs": []},
                             {"name": "inherits", "cmd": "env", "needs": []}], "--env")
    assert done.returncode == 0, done.stderr
    logs = tmp_path / ".floor-logs"
    for name, stage, partition in (("day@2024-01-01", "day", "2024-01-01"),
                                   ("day@2024-01-02", "day", "2024-01-02"),
                                   ("inherits", "inherits", "")):
        seen = dict(line.split("=", 1) for line in (logs / f"{name}.log").read_text().splitlines()
                    if "=" in line)
        assert seen["GITPIPE_STAGE"] == stage and seen["GITPIPE_PARTITION"] == partition
        assert seen["GITPIPE_ROOT"] == seen["PWD"] == str(tmp_path)
        assert seen["PYTHONPATH"] == str(ROOT)  # the caller's own variables, kept

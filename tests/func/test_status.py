"""status: every reason in user terms, --json and --check, on real repositories."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import Repo


def built(repo: Repo) -> Repo:
    repo.gen({
        "data.csv": "a,b\n1,2\n",
        "params.yaml": {"train": {"lr": 0.1}, "prep": {"k": 1}},
        "src/prep.sh": "cat data.csv > clean.csv\n",
        "src/train.sh": "mkdir -p model && cat clean.csv > model/m.txt\n",
    })
    repo.spec({
        "prep": {"cmd": "sh src/prep.sh", "deps": ["src/prep.sh", "data.csv"],
                 "params": ["prep.k"], "outs": ["clean.csv"]},
        "train": {"cmd": "sh src/train.sh", "deps": ["src/train.sh", "clean.csv"],
                  "params": ["train"], "outs": ["model/"]},
    }, commit="pipeline")
    assert repo.project().repro().ok
    return repo


def reasons(repo: Repo) -> dict[str, list[str]]:
    return {v.task: [str(r) for r in v.reasons] for v in repo.project().status().tasks}


def test_new_stages(repo: Repo) -> None:
    repo.spec({"a": {"cmd": "echo > a", "outs": ["a"]}}, commit="spec")
    assert reasons(repo) == {"a": ["new stage"]}


def test_a_new_stage_names_a_dep_nothing_makes(repo: Repo) -> None:
    # What a repro refuses the stage for, status says before: the dep that
    # does not exist and that no stage upstream writes (a dep an upstream
    # stage writes is awaited, not missing).
    repo.spec({
        "prep": {"cmd": "cp input.txt mid.txt", "deps": ["input.txt"], "outs": ["mid.txt"]},
        "train": {"cmd": "cp mid.txt model.txt", "deps": ["mid.txt", "data"],
                  "outs": ["model.txt"]},
    }, commit="spec")
    text = repo.run("status")
    assert text.stdout.startswith("prep:\n    new stage\n    deps: input.txt missing\n"
                                  "train:\n    new stage\n    deps: data missing\n"
                                  "    upstream: prep\n"), text.stdout
    rows = {row["task"]: row for row in json.loads(repo.run("status", "--json").stdout)["stages"]}
    assert rows["prep"]["reasons"] == ["new stage", "deps: input.txt missing"]
    assert rows["prep"]["reasons_detail"][1] == {
        "kind": "dep_missing", "subject": "input.txt", "path": "input.txt", "old": None,
        "new": None, "text": "deps: input.txt missing"}
    at_head = json.loads(repo.run("status", "--rev", "HEAD", "--json").stdout)["stages"]
    assert [row["reasons"] for row in at_head] == [row["reasons"] for row in rows.values()]
    refused = repo.run("repro")
    assert "dependency 'input.txt' does not exist" in refused.stderr
    assert "new stage; deps: input.txt missing" in refused.stdout


def test_up_to_date_has_no_reasons(repo: Repo) -> None:
    built(repo)
    assert reasons(repo) == {"prep": [], "train": []}


def test_tracked_code_dep_modified(repo: Repo) -> None:
    built(repo)
    (repo.path / "src/train.sh").write_text("echo changed > model/m.txt\n")
    assert reasons(repo)["train"] == ["deps: src/train.sh modified"]


def test_committed_code_change_is_still_a_change(repo: Repo) -> None:
    built(repo)
    (repo.path / "src/train.sh").write_text("echo changed > model/m.txt\n")
    repo.commit("edit")
    assert reasons(repo)["train"] == ["deps: src/train.sh modified"]


def test_data_dep_modified_and_upstream(repo: Repo) -> None:
    built(repo)
    (repo.path / "data.csv").write_text("a,b\n3,4\n")
    assert reasons(repo) == {"prep": ["deps: data.csv modified"], "train": ["upstream: prep"]}


def test_param_changed_added_removed(repo: Repo) -> None:
    built(repo)
    repo.gen({"params.yaml": {"train": {"lr": 0.5, "l2": 0.001}, "prep": {"k": 1}}})
    assert reasons(repo)["train"] == ["params: train.l2 added (0.001)",
                                      "params: train.lr 0.1 -> 0.5"]


def test_out_missing_and_modified(repo: Repo) -> None:
    built(repo)
    (repo.path / "model/m.txt").unlink()
    (repo.path / "model").rmdir()
    (repo.path / "clean.csv").write_text("tampered\n")
    got = reasons(repo)
    assert got["prep"] == ["outs: clean.csv modified"]
    assert "outs: model/ missing" in got["train"]


def test_cmd_changed(repo: Repo) -> None:
    built(repo)
    spec = repo.read("gitpipe.yaml").replace("sh src/prep.sh", "sh  src/prep.sh")
    repo.gen({"gitpipe.yaml": spec})
    assert reasons(repo)["prep"] == ["cmd changed: spacing only: sh src/prep.sh -> sh  src/prep.sh"]


def test_a_long_cmd_changed_in_its_spacing_alone_says_so(repo: Repo) -> None:
    """Two spaces where there was one, in a command too long to show whole:
    `spacing only`, not an empty word `'' added`."""
    built(repo)
    long = "sh src/prep.sh --input data.csv --output clean.csv --and-a-long-option yes"
    spec = repo.read("gitpipe.yaml").replace("sh src/prep.sh", long)
    repo.gen({"gitpipe.yaml": spec})
    repo.run("repro", check=True)
    repo.gen({"gitpipe.yaml": spec.replace(long, long.replace(" --and", "  --and"))})
    said = repo.run("status", check=True).stdout
    assert "prep:\n    cmd changed: spacing only\n" in said, said


def test_spacing_inside_quotes_is_not_called_spacing_only(repo: Repo) -> None:
    """One space fewer inside quotes passes another argument: the command's
    output changes, which `spacing only` would hide; outside quotes it is
    spacing only."""
    built(repo)
    long = 'sh src/prep.sh --label "a  b" --input data.csv --output clean.csv --and-a-long-option'
    spec = repo.read("gitpipe.yaml").replace("sh src/prep.sh", long)
    repo.gen({"gitpipe.yaml": spec})
    repo.run("repro", check=True)
    repo.gen({"gitpipe.yaml": spec.replace('"a  b"', '"a b"')})
    said = repo.run("status", check=True).stdout
    assert "prep:\n    cmd changed: spacing inside quotes\n" in said, said
    repo.gen({"gitpipe.yaml": spec.replace('--input', ' --input')})
    said = repo.run("status", check=True).stdout
    assert "prep:\n    cmd changed: spacing only\n" in said, said


def test_env_change_is_explained(repo: Repo) -> None:
    built(repo)
    repo.spec({
        "prep": {"cmd": "sh src/prep.sh", "deps": ["src/prep.sh", "data.csv"],
                 "params": ["prep.k"], "outs": ["clean.csv"], "env": {"MODE": "fast"}},
        "train": {"cmd": "sh src/train.sh", "deps": ["src/train.sh", "clean.csv"],
                  "params": ["train"], "outs": ["model/"]},
    })
    assert reasons(repo)["prep"] == ["env changed: MODE added (fast)"]


def test_dep_added_and_removed(repo: Repo) -> None:
    built(repo)
    repo.gen({"extra.txt": "x"})
    repo.spec({
        "prep": {"cmd": "sh src/prep.sh", "deps": ["src/prep.sh", "extra.txt"],
                 "params": ["prep.k"], "outs": ["clean.csv"]},
        "train": {"cmd": "sh src/train.sh", "deps": ["src/train.sh", "clean.csv"],
                  "params": ["train"], "outs": ["model/"]},
    })
    assert reasons(repo)["prep"] == ["deps: extra.txt added", "deps: data.csv removed"]


def test_always_changed_and_frozen(repo: Repo) -> None:
    repo.spec({
        "always": {"cmd": "date > now.txt", "outs": ["now.txt"], "always_changed": True},
        "ice": {"cmd": "echo > ice.txt", "outs": ["ice.txt"], "frozen": True},
    }, commit="spec")
    repo.project().repro()
    assert reasons(repo) == {"always": ["always_changed"], "ice": []}


def test_untouched_mtime_change_is_not_staleness(repo: Repo) -> None:
    built(repo)
    os.utime(repo.path / "data.csv", ns=(1, 1))
    assert reasons(repo) == {"prep": [], "train": []}


def test_status_targets_include_upstream(repo: Repo) -> None:
    built(repo)
    (repo.path / "data.csv").write_text("new\n")
    tasks = [v.task for v in repo.project().status(["prep"]).tasks]
    assert tasks == ["prep"]


def test_cli_status_text_json_and_check(repo: Repo) -> None:
    built(repo)
    clean = repo.run("status", "--check")
    assert clean.returncode == 0, clean.stderr
    assert "up to date" in clean.stdout
    repo.gen({"params.yaml": {"train": {"lr": 0.5}, "prep": {"k": 1}}})
    text = repo.run("status")
    assert "train:\n    params: train.lr 0.1 -> 0.5" in text.stdout
    assert repo.run("status", "--check").returncode == 1
    data = json.loads(repo.run("status", "--json").stdout)
    # The keys scripts read before the schema had a version (docs/reference/json.md), as they were.
    old_keys = ("name", "partition", "stale", "reasons")
    data = {"stale": data["stale"],
            "stages": [{key: row[key] for key in old_keys} for row in data["stages"]]}
    assert data == {"stale": True, "stages": [
        {"name": "prep", "partition": None, "stale": False, "reasons": []},
        {"name": "train", "partition": None, "stale": True,
         "reasons": ["params: train.lr 0.1 -> 0.5"]},
    ]}


def test_status_never_runs_commands(repo: Repo) -> None:
    repo.spec({"evil": {"cmd": "touch pwned", "outs": ["o"]}}, commit="spec")
    for args in (["status"], ["validate"], ["dag"], ["status", "--json"],
                 ["repro", "--dry-run"]):
        assert repo.run(*args).returncode in (0, 1)
    assert not (repo.path / "pwned").exists()


def test_remembered_git_verdicts_follow_the_index(repo: Repo) -> None:
    # A tracked file's blob id is remembered with the git index's signature;
    # untracking it (same content, same stat) must still change its digest.
    built(repo)
    assert repo.project().workspace.info("src/train.sh").digest.startswith("git:")
    repo.project().status()  # remembered now
    repo.git("rm", "-q", "--cached", "src/train.sh")
    assert repo.project().workspace.info("src/train.sh").digest.startswith("xxh3:")
    repo.git("add", "src/train.sh")
    assert repo.project().workspace.info("src/train.sh").digest.startswith("git:")


def test_a_dep_locked_by_blob_id_does_not_follow_the_index(repo: Repo) -> None:
    # The lock names src/train.sh by its git blob id: untracking it (same
    # bytes) changes nothing; changing its bytes is seen, tracked or not.
    built(repo)
    assert not repo.project().status().stale
    repo.git("rm", "-q", "--cached", "src/train.sh")
    assert not repo.project().status().stale
    repo.gen({"src/train.sh": "echo changed > model.txt\n"})
    verdict = {v.task: v for v in repo.project().status().tasks}["train"]
    reason = next(r for r in verdict.reasons if r.subject == "src/train.sh")
    assert str(reason.old).startswith("git:") and str(reason.new).startswith("git:")


def test_the_first_status_after_a_commit_does_not_open_the_repository(repo: Repo) -> None:
    # Blob ids are remembered by each file's stat data, not by the index's:
    # a commit of an unrelated file leaves nothing for git to answer.
    built(repo).age()
    assert not repo.project().status().stale  # remembers every blob id
    repo.gen({"notes.txt": "unrelated\n"}, commit="notes")
    code = ("import sys, gitpipe\n"
            "assert not gitpipe.Project('.').status().stale\n"
            "print('pygit2' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=repo.path, capture_output=True,
                          text=True, env={**os.environ, "GITPIPE_NO_SEAL": "1"})
    assert done.stdout.strip() == "False", done.stderr


def test_index_signature_in_a_linked_worktree(repo: Repo, tmp_path) -> None:
    from gitpipe.hashing.statsig import index_signature

    built(repo)
    repo.commit("all")
    linked = tmp_path / "linked"
    repo.git("worktree", "add", "-q", str(linked))
    assert (linked / ".git").is_file()
    before = index_signature(linked)
    assert before is not None and before != "none"
    (linked / "new.txt").write_text("x\n")
    subprocess.run(["git", "add", "new.txt"], cwd=linked, check=True)
    assert index_signature(linked) not in (before, None)
    assert index_signature(repo.path) != index_signature(linked)


def test_remembered_pipeline_is_reused_and_a_foreign_pickle_never_loaded(
        repo: Repo, tmp_path, monkeypatch) -> None:
    # The validated pipeline is pickled under .gitpipe/tmp/parsed; a pickle runs
    # code when loaded, so one gitpipe did not sign (say, committed into a
    # repository by someone else) must be ignored, not loaded.
    import pickle

    from gitpipe.pipeline.parse import load_pipeline

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache-home"))
    built(repo)
    parsed = repo.path / ".gitpipe" / "tmp" / "parsed"
    first = load_pipeline(repo.path, cache_dir=parsed)
    stored = parsed / "gitpipe.yaml.pickle"
    assert stored.is_file()
    assert load_pipeline(repo.path, cache_dir=parsed) == first

    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    blob = stored.read_bytes()
    stored.write_bytes(b"\0" * 32 + blob[32:48] + pickle.dumps(Exploit()))
    done = repo.run("status", check=True)
    assert "up to date" in done.stdout
    assert not marker.exists()
    # Signed with another user's key is no better: parsed again, re-signed here.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "other-home"))
    stored.write_bytes(blob)
    assert load_pipeline(repo.path, cache_dir=parsed) == first
    assert stored.read_bytes() != blob


def test_a_tracked_file_an_upstream_stage_rewrites_is_hashed_again(repo: Repo) -> None:
    # B depends on metrics.json, tracked in git and locked by blob id; A rewrites
    # it in the same repro, after the index was read: B must see the new bytes,
    # and status must agree after a commit and without the stat cache.
    repo.gen({"a.txt": "one\n"})
    stages = {"A": {"cmd": "cat a.txt > metrics.json", "deps": ["a.txt"],
                    "metrics": ["metrics.json"]}}
    repo.spec(stages, commit="spec")
    assert repo.project().repro().ok
    repo.commit("built, metrics.json tracked")
    stages["B"] = {"cmd": "cat metrics.json > report.txt", "deps": ["metrics.json"],
                   "outs": ["report.txt"]}
    repo.spec(stages, commit="B")
    assert repo.project().repro().ok
    assert repo.project().lock_entries["B"].dep("metrics.json").digest.startswith("git:")
    repo.commit("B built")
    repo.gen({"a.txt": "two\n"}).age()
    report = repo.project().repro(["A", "B"])
    assert report.ok and repo.read("report.txt") == "two\n"
    assert not repo.project().status().stale
    repo.commit("after")
    (repo.path / ".gitpipe/state.db").unlink()
    assert not repo.project().status().stale


def test_blob_ids_name_the_bytes_as_they_are_whoever_tracks_the_file(repo: Repo) -> None:
    # git stores data.txt through eol conversion, so its index id is not the id
    # of its work-tree bytes; gitpipe names the bytes the command reads, so the
    # verdict is the same tracked or not, with or without the stat cache.
    repo.gen({".gitattributes": "*.txt text eol=crlf\n"})
    (repo.path / "data.txt").write_bytes(b"a\r\nb\r\n")
    repo.spec({"S": {"cmd": "cat data.txt > out.bin", "deps": ["data.txt"],
                     "outs": ["out.bin"]}}, commit="spec")
    assert repo.project().repro().ok
    repo.commit("built")
    raw = repo.git("hash-object", "--no-filters", "data.txt").strip()
    assert repo.git("ls-files", "-s", "data.txt").split()[1] != raw
    assert repo.project().lock_entries["S"].dep("data.txt").digest == f"git:{raw}"
    repo.git("rm", "-q", "--cached", "data.txt")
    repo.git("commit", "-q", "-m", "untracked, same bytes")
    for _ in range(2):
        assert not repo.project().status().stale
        (repo.path / ".gitpipe/state.db").unlink()


def test_a_tracked_symlink_is_named_by_its_targets_bytes(repo: Repo) -> None:
    # git stores a link's text; the stage reads its target, so a change there
    # must make the stage stale.
    repo.gen({"target.txt": "one\n"})
    os.symlink("target.txt", repo.path / "link.txt")
    repo.spec({"S": {"cmd": "cat link.txt > out.bin", "deps": ["link.txt"],
                     "outs": ["out.bin"]}}, commit="spec")
    assert repo.project().repro().ok
    assert repo.project().lock_entries["S"].dep("link.txt").digest.startswith("xxh3:")
    repo.gen({"target.txt": "two, longer\n"})
    assert reasons(repo)["S"] == ["deps: link.txt modified"]


def test_a_project_kept_between_statuses_sees_each_edit(repo: Repo) -> None:
    """A status hashes each path once however many tasks ask for it (clean.csv:
    prep's out, train's dep), for that status only: the next status or repro of
    the same Project (the API) hashes it again."""
    built(repo)
    project = repo.project()
    try:
        assert not project.status().stale
        (repo.path / "clean.csv").write_text("vandalized\n")
        verdicts = {v.task: [str(r) for r in v.reasons] for v in project.status().tasks}
        (repo.path / "data.csv").write_text("a,b\n5,6\n")
        report = project.repro()
    finally:
        project.close()
    assert verdicts == {"prep": ["outs: clean.csv modified"],
                        "train": ["deps: clean.csv modified", "upstream: prep"]}
    assert report.ok and repo.read("model/m.txt") == "a,b\n5,6\n"


def test_a_file_two_stages_locked_by_different_algorithms(repo: Repo) -> None:
    """One path asked for by two tasks, each by its own entry's algorithm (xxh3
    while untracked, the blob id once git tracks it): each is answered by its own."""
    repo.gen({"f.txt": "f\n", ".gitignore": "f.txt\n"})
    repo.spec({"x": {"cmd": "cat f.txt > x.out", "deps": ["f.txt"], "outs": ["x.out"]}},
              commit="x")
    assert repo.project().repro().ok
    (repo.path / ".gitignore").write_text("")
    repo.spec({"x": {"cmd": "cat f.txt > x.out", "deps": ["f.txt"], "outs": ["x.out"]},
               "y": {"cmd": "cat f.txt > y.out", "deps": ["f.txt"], "outs": ["y.out"]}},
              commit="y, and f.txt tracked")
    assert repo.project().repro("y").ok
    lock = repo.read("gitpipe.lock")
    assert "hash: 'xxh3:" in lock.split("  y:")[0] and "hash: 'git:" in lock.split("  y:")[1]
    assert reasons(repo) == {"x": [], "y": []}


def test_a_stale_stage_whose_wdir_is_gone_says_so_first(repo: Repo) -> None:
    # The deps under a missing wdir read as missing: the wdir is what to mend,
    # as validate, repro and its dry run say.
    repo.gen({"data.txt": "d\n", "sub/keep": ""})
    repo.spec({"a": {"wdir": "sub", "cmd": "cat ../data.txt > ../out.txt",
                     "deps": ["../data.txt", "x.txt"], "outs": ["../out.txt"]},
               "b": {"cmd": "echo b > b.txt", "outs": ["b.txt"]}}, commit="spec")
    (repo.path / "sub" / "keep").unlink()
    (repo.path / "sub").rmdir()
    text = repo.run("status")
    assert text.stdout.startswith("a:\n    wdir: sub does not exist\n    new stage\n"
                                  "    deps: sub/x.txt missing\nb:\n    new stage\n"), text.stdout
    (row, _) = json.loads(repo.run("status", "--json").stdout)["stages"]
    assert row["reasons_detail"][0] == {
        "kind": "wdir_unusable", "subject": "sub", "path": None, "old": None,
        "new": "does not exist", "text": "wdir: sub does not exist"}
    (repo.path / "sub").write_text("a file\n")
    assert reasons(repo)["a"][0] == "wdir: sub is not a directory"
    for args in (["repro"], ["repro", "--dry-run"]):
        refused = repo.run(*args)
        assert refused.returncode == 2, (args, refused.stdout, refused.stderr)
        assert "stage 'a': wdir 'sub' is not a directory" in refused.stderr, refused.stderr
    assert not (repo.path / "b.txt").exists()


def test_a_gone_wdir_of_an_up_to_date_stage_is_named_once_a_repro_would_refuse(
        repo: Repo) -> None:
    # A repro with something to run refuses to start for any stage's wdir; with
    # nothing stale it runs nothing and says so: status says what it does.
    repo.gen({"data.txt": "d\n", "sub/keep": ""})
    repo.spec({
        "fe": {"foreach": ["x", "y"], "do": {
            "wdir": "sub", "cmd": "cat ../data.txt > ../fe-${item}.txt",
            "deps": ["../data.txt"], "outs": ["../fe-${item}.txt"]}},
        "part": {"wdir": "sub", "partition": {"by": "date", "start": "2024-01-01",
                                              "end": "2024-01-02", "freq": "daily"},
                 "cmd": "echo ${date} > ../p-${date}.txt", "outs": ["../p-${date}.txt"]},
        "ok": {"cmd": "echo one > ok.txt", "outs": ["ok.txt"]}}, commit="spec")
    assert repo.project().repro().ok
    (repo.path / "sub" / "keep").unlink()
    (repo.path / "sub").rmdir()
    assert repo.run("status").stdout == "everything is up to date\n"
    assert "up to date" in repo.run("repro", check=True).stdout
    spec = repo.read("gitpipe.yaml").replace("echo one", "echo two")
    repo.gen({"gitpipe.yaml": spec})
    text = repo.run("status").stdout
    assert ("fe@x, fe@y (2 of 2):\n    wdir: sub does not exist\n" in text
            and "part@2024-01-01, 2024-01-02 (2 of 2):\n    wdir: sub does not exist\n"
            in text and "ok:\n    cmd changed" in text), text
    refused = repo.run("repro")
    assert refused.returncode == 2 and "wdir 'sub' does not exist" in refused.stderr
    assert repo.read("ok.txt") == "one\n"
    # A targeted repro cares only for what it would run, as `status ok` does.
    assert "wdir" not in repo.run("status", "ok").stdout
    assert repo.run("repro", "ok").returncode == 0 and repo.read("ok.txt") == "two\n"


def test_a_targeted_repro_refuses_only_for_the_wdirs_of_what_it_would_run(repo: Repo) -> None:
    """`repro TARGET` refused for any stage's unusable wdir while `status
    TARGET` named only the targets' stages: both now look at the targets and
    what they need; a whole repro and `validate` still look at every stage."""
    repo.spec({"a": {"cmd": "echo a > a.txt", "outs": ["a.txt"]},
               "b": {"wdir": "nowhere", "cmd": "echo b > ../b.txt", "outs": ["../b.txt"]},
               "c": {"cmd": "cat b.txt > c.txt", "deps": ["b.txt"], "outs": ["c.txt"]}},
              commit="spec")
    assert "wdir" not in repo.run("status", "a").stdout
    for args in (["repro", "a", "--dry-run"], ["repro", "a"]):
        done = repo.run(*args)
        assert done.returncode == 0, (args, done.stderr)
        assert "wdir" not in done.stdout + done.stderr, (args, done.stdout, done.stderr)
    assert repo.read("a.txt") == "a\n"
    assert "b:\n    wdir: nowhere does not exist" in repo.run("status", "c").stdout
    for args in (["repro", "c"], ["repro"], ["validate"]):  # c needs b
        refused = repo.run(*args)
        assert refused.returncode == 2, (args, refused.stdout, refused.stderr)
        assert "stage 'b': wdir 'nowhere' does not exist" in refused.stderr, refused.stderr
    assert not (repo.path / "c.txt").exists()


def test_a_wdir_an_item_of_a_stale_stage_makes_is_left_for_its_turn(repo: Repo) -> None:
    repo.spec({
        "g": {"foreach": ["a", "b"], "do": {
            "cmd": "mkdir -p gen-${item} && echo ${item} > gen-${item}/f",
            "outs": ["gen-${item}/"]}},
        "u": {"wdir": "gen-a", "cmd": "cat f > ../u.txt", "deps": ["f"],
              "outs": ["../u.txt"]}}, commit="spec")
    assert repo.run("validate").returncode == 0
    assert "wdir" not in repo.run("status").stdout
    repo.run("repro", check=True)
    assert repo.read("u.txt") == "a\n"


def test_a_wdir_no_stale_stage_makes_is_named_and_the_stage_refused_once(repo: Repo) -> None:
    repo.spec({"gen": {"cmd": "mkdir -p gen && echo x > gen/f", "outs": ["gen/"]},
               "deep": {"wdir": "gen/sub", "cmd": "echo y > ../../deep.txt",
                        "outs": ["../../deep.txt"]}}, commit="spec")
    repo.run("repro", "-s", "gen", check=True)
    assert reasons(repo)["deep"] == ["wdir: gen/sub does not exist", "new stage"]
    failed = repo.run("repro")
    assert failed.returncode == 1, failed.stderr
    assert failed.stderr.splitlines()[-2:] == [
        "error: stage 'deep': wdir 'gen/sub' does not exist",
        "hint: `wdir` names an existing folder, relative to the repository root, where the "
        "command runs; create it (and commit a file in it) or fix the path"], failed.stderr


def test_a_dry_run_with_only_an_entry_to_drop_refuses_for_a_wdir_as_the_repro_does(
        repo: Repo) -> None:
    # Nothing stale, but a lock entry gitpipe.yaml no longer declares: the
    # repro starts (to drop it) and refuses for the gone wdir; its dry run
    # said "would drop the lock entry of t" and exited 0.
    repo.gen({"sub/keep": ""})
    repo.spec({"s": {"wdir": "sub", "cmd": "echo hi > ../o.txt", "outs": ["../o.txt"]},
               "t": {"cmd": "echo hi > t.txt", "outs": ["t.txt"]}}, commit="spec")
    repo.run("repro", check=True)
    (repo.path / "sub" / "keep").unlink()
    (repo.path / "sub").rmdir()
    repo.spec({"s": {"wdir": "sub", "cmd": "echo hi > ../o.txt", "outs": ["../o.txt"]}})
    for args in (["repro", "--dry-run"], ["repro"]):
        refused = repo.run(*args)
        assert refused.returncode == 2, (args, refused.stdout, refused.stderr)
        assert "stage 's': wdir 'sub' does not exist" in refused.stderr, refused.stderr
    assert "\n  t:\n" in repo.read("gitpipe.lock"), "the refused repro dropped nothing"


def test_status_says_the_lock_holds_the_entry_of_a_removed_stage(repo: Repo) -> None:
    """Nothing is stale once a stage is taken out of gitpipe.yaml, but the lock
    still records it until a repro drops it (as `dvc repro` does): status
    says so, in text (sealed or not) and in --json, and exits 0."""
    days = {"by": "date", "start": "2024-01-01", "end": "2024-01-03"}
    kept = {"keep": {"cmd": "echo k > k.txt", "outs": ["k.txt"]}}
    repo.spec({**kept, "summary": {"cmd": "echo s > s.txt", "outs": ["s.txt"]},
               "daily": {"partition": days, "cmd": "echo ${date} > d-${date}.txt",
                         "outs": ["d-${date}.txt"]}}, commit="spec")
    repo.run("repro", check=True)
    repo.spec(kept)
    said = ["everything is up to date",
            "note: gitpipe.lock still holds the entries of daily@2024-01-01 … 2024-01-03 (3), "
            "summary, which gitpipe.yaml no longer declares: the next 'gitpipe repro' drops "
            "them"]
    for _ in range(2):  # the second status answers from the seal the first settled
        done = repo.run("status", "--check")
        assert (done.returncode, done.stdout.splitlines()) == (0, said), done.stdout
    document = json.loads(repo.run("status", "--json", check=True).stdout)
    assert document["orphaned"] == ["daily@2024-01-01", "daily@2024-01-02", "daily@2024-01-03",
                                    "summary"]
    # What a repro drops is said as status says it: a stage's partitions one line.
    dry = repo.run("repro", "--dry-run", check=True).stdout.splitlines()
    assert dry[-2:] == [
        "would drop the lock entries of daily@2024-01-01 … 2024-01-03 (3): gitpipe.yaml no "
        "longer declares them",
        "would drop the lock entry of summary: gitpipe.yaml no longer declares it"], dry
    done = repo.run("repro", check=True).stdout.splitlines()
    assert done[:2] == [
        "dropped the lock entries of daily@2024-01-01 … 2024-01-03 (3): gitpipe.yaml no "
        "longer declares them",
        "dropped the lock entry of summary: gitpipe.yaml no longer declares it"], done
    assert repo.run("status").stdout == "everything is up to date\n"
    assert json.loads(repo.run("status", "--json").stdout)["orphaned"] == []


def test_the_note_of_many_removed_stages_names_a_few_and_counts_the_rest(repo: Repo) -> None:
    stages = {f"s{n}": {"cmd": f"echo {n} > o{n}.txt", "outs": [f"o{n}.txt"]}
              for n in range(7)}
    repo.spec(stages, commit="spec")
    repo.run("repro", check=True)
    repo.spec({"s0": stages["s0"]})
    assert repo.run("status", check=True).stdout.splitlines()[-1] == (
        "note: gitpipe.lock still holds the entries of s1, s2, s3, s4, s5 and 1 more, which "
        "gitpipe.yaml no longer declares: the next 'gitpipe repro' drops them")

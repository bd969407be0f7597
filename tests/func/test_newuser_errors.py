"""The mistakes a new user makes, through the real CLI: each is refused with
an error that names the file, the line (or stage) and the problem, the exit
code of bad input, and no traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import Repo

PARAMS = "train:\n  lr: 0.1\n"
STAGE = "stages:\n  train:\n    cmd: echo train\n    params: [train.lr]\n"


def refused(repo: Repo, *command: str) -> str:
    """The one-line error of a bad-input refusal (exit 2, no traceback)."""
    done = repo.run(*command)
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr and "unexpected" not in done.stderr, done.stderr
    return done.stderr.splitlines()[0]


@pytest.mark.parametrize(("spec", "said"), [
    ("stages: !!map x\n", "gitpipe.yaml:1: invalid YAML: !!map is a mapping's tag, on a scalar"),
    ("stages:\n  each:\n    foreach: !!seq abc\n    do:\n      cmd: echo ${item}\n",
     "gitpipe.yaml:3: invalid YAML: !!seq is a sequence's tag, on a scalar"),
    ("stages:\n  a:\n    cmd: !!int x\n",
     "gitpipe.yaml:3: invalid YAML: 'x' is not a valid integer"),
    ("stages:\n  a:\n    cmd: echo\n    frozen: !!bool maybe\n",
     "gitpipe.yaml:4: invalid YAML: 'maybe' is not a valid boolean"),
    ("stages:\n  a:\n    cmd: echo\n    timeout: !!float ten\n",
     "gitpipe.yaml:4: invalid YAML: 'ten' is not a valid number"),
    # YAML reads an unquoted YYYY-MM-DD as a date: a day that does not exist.
    ("stages:\n  a:\n    cmd: echo ${date}\n    partition: {by: date, start: 2024-02-30, "
     "end: 2024-03-02}\n",
     "gitpipe.yaml:4: invalid YAML: '2024-02-30' is not a valid date "
     "(day is out of range for month)"),
])
@pytest.mark.parametrize("command", [("validate",), ("status",), ("repro",)])
def test_a_yaml_tag_or_date_that_cannot_be_built_names_the_file_and_line(
        repo: Repo, spec: str, said: str, command: tuple[str, ...]) -> None:
    repo.gen({"gitpipe.yaml": spec, "params.yaml": PARAMS})
    assert refused(repo, *command) == f"error: {said}"


@pytest.mark.parametrize(("params", "said"), [
    ("train: !!map x\n", "params.yaml:1: invalid YAML: !!map is a mapping's tag, on a scalar"),
    ("train:\n  lr: !!float fast\n", "params.yaml:2: invalid YAML: 'fast' is not a valid number"),
])
def test_a_params_file_with_a_tag_on_the_wrong_value_names_its_line(
        repo: Repo, params: str, said: str) -> None:
    repo.gen({"gitpipe.yaml": STAGE, "params.yaml": params})
    assert refused(repo, "status") == f"error: {said}"


def test_a_config_with_a_tag_on_the_wrong_value_names_its_line(repo: Repo) -> None:
    repo.gen({"gitpipe.yaml": STAGE, "params.yaml": PARAMS})
    repo.run("init", check=True)
    repo.gen({".gitpipe/config.local.yaml": "remotes: !!map x\n"})
    assert refused(repo, "status") == (
        "error: .gitpipe/config.local.yaml:1: invalid YAML: !!map is a mapping's tag, on a scalar")


def test_a_cmd_holding_a_colon_and_a_space_says_to_quote_it(repo: Repo) -> None:
    repo.gen({"gitpipe.yaml": "stages:\n  b:\n    cmd: echo {\"x\": 1} > m.json\n"
                              "    metrics: [m.json]\n"})
    done = repo.run("repro")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        "error: gitpipe.yaml:3: invalid YAML: mapping values are not allowed in this context",
        "hint: a value holding ': ' (a colon and a space) is read as a key: quote the whole "
        "value (cmd: 'echo \"x: 1\"') or write it as a block (cmd: >-, then the command "
        "indented on the next line)"], done.stderr



def test_a_cmd_holding_a_colon_and_brackets_beside_a_date_is_told_to_quote_it(
        repo: Repo) -> None:
    """A partition's command that holds `${date}`, Python's `[1:]` and a JSON
    `{"n": ...}` is a plain value, not a flow list: its ': ' is the problem,
    and the hint about quoting `${...}` inside [...] would send the user
    after the wrong mistake."""
    cmd = ("python3 -c \"rows=open('raw/${date}.csv').read().splitlines()[1:]; "
           "open('d/${date}.json','w').write('{\\\"n\\\": %d}' % len(rows))\"")
    repo.gen({"gitpipe.yaml": "stages:\n  daily:\n    partition: {by: date, start: 2024-03-01, "
                              f"end: 2024-03-02}}\n    cmd: {cmd}\n"
                              "    outs: ['d/${date}.json']\n"})
    done = repo.run("validate")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [
        "error: gitpipe.yaml:4: invalid YAML: mapping values are not allowed in this context",
        "hint: a value holding ': ' (a colon and a space) is read as a key: quote the whole "
        "value (cmd: 'echo \"x: 1\"') or write it as a block (cmd: >-, then the command "
        "indented on the next line)"], done.stderr


TRAIN = "stages:\n  train:\n    cmd: python train.py\n    deps: [train.py]\n    outs: [model.bin]\n"


@pytest.mark.parametrize(("old", "new", "said"), [
    # A key without its ':' reads, to YAML, as the start of a value that the
    # next line's ': ' cannot continue: the hint names the line to mend,
    # not the colon the parser stopped at (quoting it would not help).
    ("    cmd: python", "    cmd python",
     ["error: gitpipe.yaml:4: invalid YAML: mapping values are not allowed in this context",
      "hint: line 3 ('cmd python train.py') has no ':' after its key: write "
      "'cmd: python train.py'"]),
    # The next line of a value, not a key: its ': ' is the value's.
    ("    deps: [", "      --fast\n      --lr: 3\n    deps: [",
     ["error: gitpipe.yaml:5: invalid YAML: mapping values are not allowed in this context",
      "hint: a value holding ': ' (a colon and a space) is read as a key: quote the whole "
      "value (cmd: 'echo \"x: 1\"') or write it as a block (cmd: >-, then the command "
      "indented on the next line)"]),
    ("stages:", "stages",
     ["error: gitpipe.yaml:2: invalid YAML: mapping values are not allowed in this context",
      "hint: line 1 ('stages') has no ':' after its key: write 'stages:'"]),
    # A byte order mark (some Windows editors write one) is no part of the line.
    ("stages:", "\ufeffstages",
     ["error: gitpipe.yaml:2: invalid YAML: mapping values are not allowed in this context",
      "hint: line 1 ('stages') has no ':' after its key: write 'stages:'"]),
    ("    outs: [", "    outs [",
     ["error: gitpipe.yaml:6: invalid YAML: could not find expected ':' (while scanning a "
      "simple key that starts on line 5)",
      "hint: line 5 ('outs [model.bin]') has no ':' after its key: write "
      "'outs: [model.bin]'"]),
    # One space too many after a plain value makes the line part of that
    # value; after a flow list, a key out of its mapping's column.
    ("    deps: [", "     deps: [",
     ["error: gitpipe.yaml:4: invalid YAML: mapping values are not allowed in this context",
      "hint: line 4 is indented more than line 3, so YAML reads it as part of line 3's "
      "value: the keys of one mapping, and the items of one list, start in the same column"]),
    ("    outs: [", "     outs: [",
     ["error: gitpipe.yaml:5: invalid YAML: did not find expected key (while parsing a block "
      "mapping that starts on line 3)",
      "hint: line 5 starts in column 6, the keys of the mapping from line 3 in column 5: "
      "the keys of one mapping, and the items of one list, start in the same column"]),
    ("    deps: [train.py]", "    deps:\n      - train.py\n      outs: [x]",
     ["error: gitpipe.yaml:6: invalid YAML: did not find expected '-' indicator (while "
      "parsing a block collection that starts on line 5)",
      "hint: line 6 lines up with the items of the list from line 5 but is not one "
      "('- value'): a key after the list starts in the column of the key that holds the list"]),
    ("    deps: [train.py]", "    deps:\n      - train.py\n      -params.yaml",
     ["error: gitpipe.yaml:7: invalid YAML: could not find expected ':' (while scanning a "
      "simple key that starts on line 6)",
      "hint: line 6: a list item is '- value', with a space after the '-'"]),
    ("    outs: [", "\touts: [",
     ["error: gitpipe.yaml:5: invalid YAML: found character that cannot start any token",
      "hint: line 5 holds a tab where YAML wants spaces: indent with spaces only"]),
])
@pytest.mark.parametrize("command", ["status", "repro"])
def test_a_yaml_slip_gets_a_hint_that_names_the_line_to_mend(
        repo: Repo, old: str, new: str, said: list[str], command: str) -> None:
    repo.gen({"gitpipe.yaml": TRAIN.replace(old, new, 1)})
    done = repo.run(command)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.splitlines() == said, done.stderr



def test_a_stage_whose_one_key_lacks_its_colon_says_what_it_reads_as(repo: Repo) -> None:
    # Alone in its stage, `cmd python train.py` is no YAML error: the stage's
    # value is that text.
    repo.gen({"gitpipe.yaml": "stages:\n  train:\n    cmd python train.py\n"})
    assert refused(repo, "validate") == (
        "error: gitpipe.yaml:2: stage 'train': must be a mapping with at least 'cmd' (it "
        "reads as the text 'cmd python train.py': did you mean 'cmd: python train.py'?)")

def test_a_tab_in_a_params_file_is_named_as_the_spec_s_would_be(repo: Repo) -> None:
    repo.gen({"gitpipe.yaml": STAGE, "params.yaml": "train:\n\tlr: 0.1\n"})
    done = repo.run("status")
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[1:] == [
        "hint: line 2 holds a tab where YAML wants spaces: indent with spaces only"], done.stderr

CHAIN = ("stages:\n"
         "  ingest:\n    cmd: mkdir -p raw && echo 1 > raw/points.csv\n    outs: [raw/]\n"
         "  clean:\n    cmd: cp {dep} clean.csv\n    deps: [{dep}]\n    outs: [clean.csv]\n"
         "  train:\n    cmd: cp clean.csv model.txt\n    deps: [clean.csv]\n"
         "    outs: [model.txt]\n"
         "  other:\n    cmd: echo o > other.txt\n    outs: [other.txt]\n")


@pytest.mark.parametrize(("dep", "near"), [
    # a typo inside an up-to-date stage's directory out: the file beside it is named
    ("raw/point.csv", " (did you mean 'raw/points.csv'?)"),
    ("rw.csv", ""),  # a dep nothing provides
])
def test_a_dry_run_says_what_repro_will_say_of_a_missing_dep(repo: Repo, dep: str,
                                                              near: str) -> None:
    repo.gen({"gitpipe.yaml": CHAIN.format(dep="raw/points.csv")})
    repo.run("repro", "ingest", check=True)
    repo.gen({"gitpipe.yaml": CHAIN.format(dep=dep)})
    dry = repo.run("repro", "--dry-run")
    assert dry.stdout.splitlines() == [
        "would run other: new stage",
        f"would fail clean: new stage; deps: {dep} missing",
        "would not run train: upstream 'clean' would fail",
        "1 of 4 stages would run, 1 task would fail, 1 task would not run"], dry.stdout
    done = repo.run("repro", "-k")
    assert dry.returncode == done.returncode == 1
    # gitpipe.yaml:5 is where `clean` is declared, as validate's warning says
    said = [f"error: gitpipe.yaml:5: stage 'clean': dependency '{dep}' does not exist{near}",
            "hint: fix the path in gitpipe.yaml, create the file, or add the stage that writes it"]
    assert dry.stderr.splitlines() == said, dry.stderr
    assert done.stderr.splitlines() == said, done.stderr
    assert "Traceback" not in dry.stderr + done.stderr


def test_a_foreach_item_s_missing_dep_names_the_line_of_its_stage(repo: Repo) -> None:
    repo.gen({"gitpipe.yaml": "stages:\n  other:\n    cmd: echo\n"
                              "  train:\n    foreach: [a, b]\n    do:\n"
                              "      cmd: cat in-${item}.txt\n      deps: ['in-${item}.txt']\n",
              "in-a.txt": "a\n"})
    done = repo.run("repro", "train@b")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[0] == (
        "error: gitpipe.yaml:4: stage 'train@b': dependency 'in-b.txt' does not exist "
        "(did you mean 'in-a.txt'?)"), done.stderr


def test_a_missing_dep_is_never_pointed_at_its_own_stage_s_out(repo: Repo) -> None:
    """`prepare` (imported from a dvc.yaml) reads `data/raw` and writes
    `data/prepared`: with `data/raw` not there yet, validate and repro asked
    `did you mean 'data/prepared'?`, the stage's own out, which it cannot
    depend on."""
    repo.gen({"gitpipe.yaml": "stages:\n  prepare:\n    cmd: mkdir -p data/prepared\n"
                              "    deps: [data/raw]\n    outs: [data/prepared]\n",
              "data/prepared/x": "left from before\n"})
    said = repo.run("validate").stderr.splitlines()
    assert said == ["warning: gitpipe.yaml:2: stage 'prepare': dependency 'data/raw' does not "
                    "exist and no stage declares it as an out: 'gitpipe repro' refuses to run "
                    "the stage until it exists"], said
    done = repo.run("repro")
    assert done.returncode == 1 and done.stderr.splitlines()[0] == (
        "error: gitpipe.yaml:2: stage 'prepare': dependency 'data/raw' does not exist"), \
        done.stderr


def test_a_dry_run_awaits_a_dep_that_a_stage_running_first_makes(repo: Repo) -> None:
    repo.gen({"gitpipe.yaml": CHAIN.format(dep="raw/points.csv")})
    dry = repo.run("repro", "--dry-run", check=True)
    assert "would run clean: new stage" in dry.stdout and "would fail" not in dry.stdout
    repo.run("repro", check=True)


@pytest.mark.parametrize(("typed", "said"), [
    (("exp", "run"), "hint: gitpipe has no experiments: run each on a branch, then compare "
                     "with 'gitpipe params diff A B' and 'gitpipe metrics show A B' "
                     "(docs/howto/dvc.md)"),
    (("install",), "hint: the git hooks are 'gitpipe hooks install' (docs/howto/dvc.md)"),
    # click's near miss for this was "Did you mean 'remote'?", another command
    (("move", "a", "b"), "hint: gitpipe has no 'move': change the out's path in gitpipe.yaml "
                         "and in the command that writes it, then 'gitpipe repro' "
                         "(docs/howto/dvc.md)"),
    # click's near misses were 'verify' and 'watch'
    (("version",), "hint: 'gitpipe --version' prints the version (docs/howto/dvc.md)"),
    (("cache", "dir"), "hint: the local cache is .gitpipe/cache/: 'gitpipe gc' trims it, "
                       "'gitpipe fsck' checks it (docs/howto/dvc.md)"),
])
def test_a_dvc_command_gitpipe_lacks_says_what_to_do_instead(
        repo: Repo, typed: tuple[str, ...], said: str) -> None:
    done = repo.run(*typed)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-2:] == [f"Error: No such command {typed[0]!r}.", said]


def test_a_mistyped_command_still_gets_click_s_near_miss(repo: Repo) -> None:
    done = repo.run("statu")
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == "Error: No such command 'statu'. Did you mean 'status'?"


def test_adding_a_folder_remote_that_is_not_there_says_so_and_to_commit_the_config(
        repo: Repo, tmp_path: Path) -> None:
    repo.gen({"gitpipe.yaml": STAGE, "params.yaml": PARAMS})
    repo.run("init", check=True)
    typo = repo.run("remote", "add", "-d", "store", "../stroe", check=True)
    assert typo.stderr.splitlines() == [
        "note: folder '../stroe' does not exist yet: 'gitpipe push' creates it",
        "hint: commit .gitpipe/config.yaml so that clones use the remote too"], typo.stderr
    (tmp_path / "there").mkdir()
    there = repo.run("remote", "add", "--local", "mine", str(tmp_path / "there"), check=True)
    assert there.stderr == "", "an existing folder, in the uncommitted config: nothing to say"


@pytest.mark.s3
def test_a_push_to_a_bucket_that_does_not_exist_says_so(repo: Repo, s3_env: dict[str, str]) -> None:
    # The first push to a new S3 remote, before the bucket was made: a missing
    # bucket is the user's to create, said with the remote's name and URL.
    repo.spec({"a": {"cmd": "echo 1 > a.txt", "outs": ["a.txt"]}})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.run("remote", "add", "-d", "store", "s3://gitpipe-no-such-bucket/cache", check=True)
    for command in (("push",), ("push", "--run-cache")):
        done = repo.run(*command)
        assert done.returncode == 1, (done.stdout, done.stderr)
        assert "unexpected" not in done.stderr and "Traceback" not in done.stderr, done.stderr
        first, *_, hint = done.stderr.splitlines()
        assert first.startswith(
            "error: remote 'store' (s3://gitpipe-no-such-bucket/cache): cannot upload "), first
        assert first.endswith("bucket does not exist"), first
        assert hint.startswith("hint: create the bucket"), hint


def test_an_error_that_lists_what_it_names_says_error_once(repo: Repo, tmp_path: Path) -> None:
    # git's way: one `error:` line, then the paths it names, indented as they are.
    repo.spec({"a": {"cmd": "echo 1 > a.txt", "outs": ["a.txt"]},
               "b": {"cmd": "echo 2 > b.txt", "outs": ["b.txt"]}})
    repo.run("init", check=True)
    repo.run("repro", check=True)
    repo.spec({"a": {"cmd": "echo 3 > a.txt", "outs": ["a.txt"]},
               "b": {"cmd": "echo 2 > b.txt", "outs": ["b.txt"]}})
    repo.run("repro", check=True)
    # A refusal in two sentences (the first a.txt is garbage) is one line.
    refused = repo.run("gc")
    assert refused.returncode == 2 and refused.stderr.count("error:") == 1, refused.stderr
    (tmp_path / "store").mkdir()
    repo.run("remote", "add", "-d", "store", str(tmp_path / "store"), check=True)
    shutil.rmtree(repo.path / ".gitpipe" / "cache")  # never pushed, and gone here
    done = repo.run("fetch")
    assert done.returncode == 1, (done.stdout, done.stderr)
    first, *listed, hint = done.stderr.splitlines()
    assert first.startswith("error: 2 out(s) are not in remote 'store'"), first
    assert [line.split()[0] for line in listed] == ["a.txt", "b.txt"], listed
    assert all(line.startswith("  ") for line in listed), listed
    assert hint.startswith("hint: "), hint


@pytest.mark.parametrize(("field", "entry", "said"), [
    ("outs", "- model.pkl:\n          persist: true",
     "gitpipe.yaml:5: stage 'train': out 'model.pkl' is written with options (persist)"),
    ("metrics", "- metrics.json:\n          cache: false",
     "gitpipe.yaml:5: stage 'train': metric 'metrics.json' is written with options (cache)"),
], ids=["out", "metric"])
def test_an_out_written_with_dvc_s_options_is_refused_not_left_out(
        repo: Repo, field: str, entry: str, said: str) -> None:
    # Left out, the stage had no such out: `validate` said valid, the file went uncached.
    (repo.path / "gitpipe.yaml").write_text(
        f"stages:\n  train:\n    cmd: echo 1 > model.pkl\n    {field}:\n      {entry}\n")
    for command in (("validate",), ("status",)):
        error = refused(repo, *command)
        assert error.startswith(f"error: {said}: "), error
        assert "plain paths" in error and "docs/howto/dvc.md" in error, error


def test_a_typo_in_a_plain_stage_beside_a_foreach_gets_no_foreach_hint(repo: Repo) -> None:
    (repo.path / "gitpipe.yaml").write_text(
        "stages:\n  train:\n    foreach: [a, b]\n    do:\n      cmd: echo ${item}\n"
        "  plot:\n    cmd: echo 1\n    plots: [p.csv]\n")
    done = repo.run("validate")
    assert done.returncode == 2 and "unknown field 'plots'" in done.stderr, done.stderr
    assert "foreach" not in done.stderr, done.stderr


def test_key_in_a_foreach_over_a_list_says_only_item_is_defined(repo: Repo) -> None:
    (repo.path / "gitpipe.yaml").write_text(
        "stages:\n  train:\n    foreach: [a, b]\n    do:\n      cmd: echo ${key} > o-${key}\n"
        "      outs: ['o-${key}']\n")
    done = repo.run("validate")
    assert done.returncode == 2, done.stderr
    assert "'key' is not defined (a foreach over a list defines only ${item}" in done.stderr
    assert "hint: foreach, matrix, vars" in done.stderr  # this one is about foreach


FROZEN = ("stages:\n"
          "  make:\n    cmd: echo made > made.txt\n    frozen: true\n    outs: [made.txt]\n"
          "  use:\n    cmd: cat made.txt > used.txt\n    deps: [made.txt]\n    outs: [used.txt]\n")


def test_a_dep_a_frozen_stage_never_made_names_the_frozen_stage(repo: Repo) -> None:
    """`frozen: true` on a stage that has not made its out here: the stage
    below it is refused, and the hint said to add the stage that writes it,
    which is there, frozen. It now names that stage and what to do."""
    repo.gen({"gitpipe.yaml": FROZEN}, commit="spec")
    hint = ("hint: 'made.txt' is an out of stage 'make', which is frozen (frozen: true) and "
            "never runs: remove 'frozen: true' to let it run, or bring back the out its lock "
            "records ('gitpipe checkout', 'gitpipe pull')")
    for command in (("repro",), ("repro", "--dry-run")):
        done = repo.run(*command)
        assert done.returncode == 1, (command, done.stderr)
        lines = done.stderr.splitlines()
        assert any(line.endswith("stage 'use': dependency 'made.txt' does not exist")
                   for line in lines), (command, lines)
        assert hint in lines, (command, lines)
    repo.gen({"gitpipe.yaml": FROZEN.replace("cat made.txt", "cat mdae.txt")
              .replace("deps: [made.txt]", "deps: [mdae.txt]")})
    assert "frozen" not in repo.run("repro").stderr  # a dep no stage writes: as before


def test_checkout_does_not_tell_to_repro_a_frozen_stage(repo: Repo) -> None:
    """`gitpipe checkout` named the stages never run and hinted `repro`, which
    never runs a frozen one."""
    repo.gen({"gitpipe.yaml": FROZEN.replace("    deps: [made.txt]\n", "")
              .replace("cat made.txt", "echo used")}, commit="spec")
    assert repo.run("repro").returncode == 0
    done = repo.run("checkout")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "note: frozen (frozen: true) and never run, so nothing to check out: make",
        "hint: remove 'frozen: true' to let 'gitpipe repro' run it"], done.stderr


def test_commit_says_which_stages_it_recorded_though_their_inputs_changed(repo: Repo) -> None:
    """`gitpipe commit` after editing an out by hand also records the stage
    below it, whose dep that out is, as up to date without running it (as
    `dvc commit` does, which asks first): it now says so, and how to rerun."""
    repo.gen({"raw.txt": "a\n"})
    repo.spec({"train": {"cmd": "cp raw.txt model.txt", "deps": ["raw.txt"],
                         "outs": ["model.txt"]},
               "evaluate": {"cmd": "wc -c < model.txt > score.txt", "deps": ["model.txt"],
                            "outs": ["score.txt"]}}, commit="spec")
    assert repo.run("repro").returncode == 0
    repo.gen({"model.txt": "tuned by hand\n"})
    done = repo.run("commit")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "committed 2 stages: train, evaluate", done.stdout
    assert done.stderr.splitlines()[:2] == [
        "note: recorded without running, though its inputs changed since its outs were "
        "made: evaluate (deps: model.txt modified)",
        "hint: 'gitpipe repro -f -s STAGE' reruns one"], done.stderr
    assert repo.read("score.txt") == "2\n"  # as the note says: not recomputed
    repo.gen({"model.txt": "tuned again\n"})
    alone = repo.run("commit", "train")  # only the hand-made out: nothing to note
    assert alone.returncode == 0 and "note:" not in alone.stderr, alone.stderr


@pytest.mark.parametrize("value", ["abc", "-1", "inf", "nan"])
def test_a_bad_retry_backoff_is_refused_plainly(repo: Repo, value: str) -> None:
    repo.spec({"a": {"cmd": "echo a > a.txt", "outs": ["a.txt"]}})
    done = repo.run("repro", env={"GITPIPE_RETRY_BACKOFF": value})
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    said = done.stderr.splitlines()[0]
    assert said == f"error: GITPIPE_RETRY_BACKOFF={value!r} is not a number of seconds"
    assert not (repo.path / "a.txt").exists()


@pytest.mark.parametrize("stage", [
    "  train:\n    cmd: echo ${train.lr}\n",
    "  train:\n    partition: {by: date, start: 2024-01-01, end: 2024-01-02}\n"
    "    cmd: echo ${train.lr} ${date}\n",
    "  train:\n    foreach: [a, b]\n    do:\n      cmd: echo ${train.lr} ${item}\n"])
def test_an_undefined_value_says_params_yaml_does_not_exist(repo: Repo, stage: str) -> None:
    """`${train.lr}` with no params.yaml was "not defined (not in 'vars:' or
    params.yaml)": the file missing, the likelier cause, was not said."""
    repo.gen({"gitpipe.yaml": "stages:\n" + stage}, commit="spec")
    for command in ("validate", "status", "repro"):
        said = refused(repo, command)
        assert said.startswith("error: gitpipe.yaml:"), said
        assert ("stage 'train': ${train.lr} is not defined: params.yaml does not exist"
                in said), (command, said)
    repo.gen({"params.yaml": "other: 1\n"})  # there, without the key: said as before
    assert "does not exist" not in refused(repo, "validate")


def test_a_near_miss_of_a_partition_name_keeps_its_did_you_mean(repo: Repo) -> None:
    """Without params.yaml, `${dtae}` in a partitioned stage is a typo of
    `${date}`, not a value params.yaml would give: its hint stands."""
    repo.gen({"gitpipe.yaml": "stages:\n  train:\n    partition: {by: date, start: 2024-01-01,"
              " end: 2024-01-02}\n    cmd: echo ${dtae}\n"}, commit="spec")
    said = refused(repo, "validate")
    assert "unknown variable ${dtae} (did you mean 'date'?)" in said, said


def test_a_foreach_over_a_value_says_params_yaml_does_not_exist(repo: Repo) -> None:
    """`foreach: ${models}` with no params.yaml read `${models}: 'models' is
    not defined`, not that the file it comes from is missing."""
    repo.gen({"gitpipe.yaml": "stages:\n  train:\n    foreach: ${models}\n    do:\n"
              "      cmd: echo ${item}\n"}, commit="spec")
    said = refused(repo, "validate")
    assert said == ("error: gitpipe.yaml:3: stage 'train': ${models} is not defined: params.yaml "
                    "does not exist (`${…}` takes its values from params.yaml at the repository "
                    "root and from 'vars:')"), said
    repo.gen({"params.yaml": "other: 1\n"})  # there, without the key: said as before
    assert refused(repo, "validate").endswith("${models}: 'models' is not defined")

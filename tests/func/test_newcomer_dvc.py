"""What a newcomer who knows DVC, git and Airflow meets in a small pipeline of
their own (partitions, a foreach over a list of mappings, params, metrics, a
folder remote): through the real CLI, in real git repositories."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Repo

PLAIN = "stages:\n  train:\n    cmd: echo x > model.txt\n    outs: [model.txt]\n"


@pytest.mark.parametrize(("spec", "said"), [
    (PLAIN + "plots:\n  - model.txt\n",
     "error: gitpipe.yaml:5: unknown top-level key 'plots' (gitpipe has no plots: list a "
     "stage's numbers under its 'metrics:' ('gitpipe metrics show' and 'gitpipe report' "
     "show them); see docs/howto/dvc.md)"),
    (PLAIN + "    plots: [loss.csv]\n",
     "error: gitpipe.yaml:5: stage 'train': unknown field 'plots' (gitpipe has no plots: "
     "list the file under 'metrics:' ('gitpipe metrics show' and 'gitpipe report' show its "
     "numbers) or under 'outs:'; see docs/howto/dvc.md)"),
    (PLAIN + "metrics:\n  - scores.json\n",
     "error: gitpipe.yaml:5: unknown top-level key 'metrics' (metrics files are listed under "
     "each stage's 'metrics:'; see docs/howto/dvc.md)"),
])
def test_dvc_s_plots_and_top_level_keys_say_what_gitpipe_does_instead(
        repo: Repo, spec: str, said: str) -> None:
    repo.gen({"gitpipe.yaml": spec})
    done = repo.run("validate")
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[0] == said
    assert "did you mean" not in done.stderr


MODELS = ("scale: 1\nmodels:\n  - {id: 0, name: a}\n  - {id: 1, name: b}\n"
          "  - {id: 2, name: c}\n")
TRAIN = ("stages:\n  train:\n    foreach: ${models}\n    do:\n"
         "      cmd: mkdir -p m && echo ${item.name} > m/${item.id}.txt\n"
         "      params: [scale]\n      outs: ['m/${item.id}.txt']\n")


def _trained(repo: Repo) -> None:
    repo.gen({"params.yaml": MODELS, "gitpipe.yaml": TRAIN})
    repo.run("repro", check=True)
    repo.git("add", "-A")
    repo.commit("trained")


def test_a_foreach_over_mappings_never_says_key_which_its_spec_cannot_write(
        repo: Repo) -> None:
    """Its items are named by index (train@0), which no variable holds: an
    index standing alone in a path the spec wrote as `${item.id}` is not
    `${key}`, and an index equal to a param's value leaves the value alone."""
    _trained(repo)
    repo.gen({"params.yaml": MODELS.replace("scale: 1", "scale: 2")})
    # one entry for the three items: the 1 and 2 in the param's values stay
    assert repo.run("diff").stdout == "train@0 … 2 (3 of 3):\n    params: scale 1 -> 2\n"
    (repo.path / "m" / "0.txt").unlink()
    (repo.path / "m" / "2.txt").unlink()
    status = repo.run("status").stdout
    assert "${key}" not in status and "${item}" not in status, status
    assert "train@0:\n    params: scale 1 -> 2\n    outs: m/0.txt missing\n" in status, status
    diff = repo.run("diff").stdout
    assert "${key}" not in diff and "    outs: m/2.txt removed\n" in diff, diff


def test_diff_says_modified_as_status_does_and_digests_with_show_hash(repo: Repo) -> None:
    _trained(repo)
    repo.gen({"gitpipe.yaml": TRAIN + "  report:\n    cmd: cat m/*.txt > report.txt\n"
                              "    deps: [m/]\n    outs: [report.txt]\n"})
    repo.run("repro", check=True)
    repo.git("add", "-A")
    repo.commit("report")
    (repo.path / "m" / "1.txt").write_text("changed by hand\n")
    status = repo.run("status").stdout
    assert "report:\n    deps: m/ modified\n" in status, status
    diff = repo.run("diff")
    assert diff.returncode == 0, diff.stderr
    assert diff.stdout == "train@1:\n    outs: m/1.txt modified\nreport:\n    deps: m/ modified\n"
    hashed = repo.run("diff", "--show-hash").stdout
    assert "train@1:\n    outs: m/1.txt xxh3:" in hashed, hashed
    assert "    deps: m/ xxh3:" in hashed and ".dir -> xxh3:" in hashed, hashed


CHAIN = ("stages:\n  prepare:\n    cmd: cat raw.txt > prepared.txt\n    deps: [raw.txt]\n"
         "    outs: [prepared.txt]\n  train:\n    cmd: cat prepared.txt > model.txt\n"
         "    deps: [prepared.txt]\n    outs: [model.txt]\n")


def _ran(done: subprocess.CompletedProcess) -> list[str]:
    """The tasks a repro said it was running, in order."""
    lines = (done.stdout + done.stderr).splitlines()
    return [line.split(": ")[0].removeprefix("running ") for line in lines
            if line.startswith("running ")]


def test_repro_force_forces_upstream_as_dvc_does_and_single_item_only_the_target(
        repo: Repo) -> None:
    repo.gen({"raw.txt": "one\n", "gitpipe.yaml": CHAIN})
    repo.run("repro", check=True)
    assert _ran(repo.run("repro", "-f", "train", check=True)) == ["prepare", "train"]
    assert _ran(repo.run("repro", "-f", "-s", "train", check=True)) == ["train"]
    assert _ran(repo.run("repro", "--force", "--single-item", "prepare",
                         check=True)) == ["prepare"]
    # -s leaves what is stale upstream alone, as `dvc repro -s` does, and its
    # dry run does not call that "everything is up to date"
    repo.gen({"raw.txt": "two\n"})
    assert repo.run("repro", "-s", "train", "--dry-run", check=True).stdout == (
        "nothing would run: the stages considered are up to date "
        "('gitpipe status' judges them all)\n")
    assert _ran(repo.run("repro", "-s", "train", check=True)) == []
    assert repo.read("model.txt") == "one\n"
    help_text = " ".join(repo.run("repro", "--help", check=True).stdout.split())
    assert "the targets and every stage upstream of them, as `dvc repro -f`" in help_text
    assert "-s, --single-item Run the targets alone" in help_text


@pytest.mark.parametrize("args", [("-s",), ("-s", "--downstream", "train")])
def test_single_item_without_targets_or_with_downstream_is_a_usage_error(
        repo: Repo, args: tuple[str, ...]) -> None:
    repo.gen({"raw.txt": "one\n", "gitpipe.yaml": CHAIN})
    done = repo.run("repro", *args)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Error: --single-item runs the targets alone: name them" in done.stderr
    assert not (repo.path / "model.txt").exists()


SHAPE = ("{by: date, start: DATE, end: DATE | today | yesterday, "
         "freq: hourly | daily | weekly | monthly}")


@pytest.mark.parametrize(("partition", "said"), [
    ("{by: day, start: 2024-01-01}",
     f"'partition: by' is 'date', not 'day' (the step is 'freq: daily'): {SHAPE}"),
    ("{by: date, start_date: 2024-01-01}",
     f"'partition' has no key 'start_date' (did you mean 'start'?): it is {SHAPE}"),
    ("{by: date, end: today}", f"'partition' needs 'start: DATE' (its first date): {SHAPE}"),
])
def test_a_partition_written_as_airflow_words_it_names_the_key_at_fault(
        repo: Repo, partition: str, said: str) -> None:
    repo.gen({"gitpipe.yaml": "stages:\n  ingest:\n    cmd: echo ${date}\n"
                              f"    partition: {partition}\n"})
    done = repo.run("validate")
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines()[0] == f"error: gitpipe.yaml:4: stage 'ingest': {said}"


def test_gc_says_it_keeps_the_index_s_lock_beside_the_work_tree_s(repo: Repo) -> None:
    """`gc -w` keeps what the staged lock names too (a commit is about to name
    it), and says so: a DVC user reads "-w" as the work tree alone."""
    repo.gen({"raw.txt": "one\n", "gitpipe.yaml": CHAIN})
    repo.run("repro", check=True)
    repo.git("add", "-A")
    repo.commit("one")
    repo.gen({"raw.txt": "two\n"})
    repo.run("repro", check=True)
    kept = repo.run("gc", "-w", check=True)
    # one object a version: prepared.txt and model.txt hold the same bytes
    assert kept.stdout.strip().endswith(
        "kept 2: what the work tree's and the index's gitpipe.lock name"), kept.stdout
    repo.git("add", "gitpipe.lock")
    done = repo.run("gc", "-w", "--json", check=True)
    document = json.loads(done.stdout)
    assert document["keeping"] == "the work tree's and the index's", document
    assert len(document["removed"]["objects"]) == 1 and document["kept"] == 1, document


@pytest.mark.parametrize(("args", "option", "said"), [
    (("gc", "--cloud", "-w"), "--cloud", "hint: 'gitpipe gc --remote NAME' collects on a remote"),
    (("metrics", "show", "-A"), "-A", "hint: 'gitpipe metrics show' takes revisions instead"),
    (("metrics", "show", "--targets", "m.json"), "--targets",
     "hint: name the metrics file among the arguments: 'gitpipe metrics show eval/metrics.json'"),
    (("params", "diff", "--md"), "--md", "hint: there is no markdown table; --json gives the "
     "values"),
    (("push", "--all-branches"), "--all-branches", "hint: gitpipe moves what the checked-out "
     "gitpipe.lock names"),
    (("repro", "-R", "train"), "-R", "hint: targets are stages (STAGE or STAGE@KEY)"),
    (("dag", "--md"), "--md", "hint: 'gitpipe dag --format mermaid' prints the graph as "
     "mermaid"),
    (("dag", "--dot"), "--dot", "hint: 'gitpipe dag --format dot'"),
    (("dag", "--mermaid"), "--mermaid", "hint: 'gitpipe dag --format mermaid'"),
])
def test_a_dvc_option_gitpipe_lacks_says_what_to_do_instead(
        repo: Repo, args: tuple[str, ...], option: str, said: str) -> None:
    repo.gen({"raw.txt": "one\n", "gitpipe.yaml": CHAIN})
    done = repo.run(*args)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert lines[-2].startswith(f"Error: No such option '{option}'."), lines
    assert lines[-1].startswith(said) and lines[-1].endswith(" (docs/howto/dvc.md)"), lines
    assert not (repo.path / "model.txt").exists()


def test_an_option_dvc_lacks_too_gets_click_s_words_alone(repo: Repo) -> None:
    repo.gen({"raw.txt": "one\n", "gitpipe.yaml": CHAIN})
    done = repo.run("status", "-x")
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == "Error: No such option '-x'.", done.stderr


def test_an_item_named_by_a_value_of_a_mapping_is_told_items_go_by_index(repo: Repo) -> None:
    repo.gen({"params.yaml": MODELS, "gitpipe.yaml": TRAIN})
    done = repo.run("repro", "train@b")
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        "error: stage 'train' has no item 'b'",
        "hint: its items: 0, 1, 2 (a foreach over a list of mappings names its items by "
        "index, as DVC does)"]


def test_a_dry_run_of_part_of_the_pipeline_never_says_everything_is_up_to_date(
        repo: Repo) -> None:
    repo.gen({"raw.txt": "one\n", "gitpipe.yaml": CHAIN})
    repo.run("repro", check=True)
    assert repo.run("repro", "--dry-run", check=True).stdout == (
        "everything is up to date: nothing would run\n")
    repo.gen({"raw.txt": "two\n"})
    dry = repo.run("repro", "--downstream", "train", "--dry-run", check=True)
    assert dry.stdout == ("nothing would run: the stages considered are up to date "
                          "('gitpipe status' judges them all)\n")
    assert "prepare:\n    deps: raw.txt modified\n" in repo.run("status").stdout


def test_the_count_leaves_out_the_partitions_and_items_none_of_which_is_stale(
        repo: Repo) -> None:
    spec = ("stages:\n  ingest:\n    partition: {by: date, start: 2024-01-01, end: 2024-01-03}"
            "\n    cmd: mkdir -p parts && echo ${date} > parts/${date}.txt\n"
            "    outs: ['parts/${date}.txt']\n" + TRAIN.removeprefix("stages:\n")
            + "  report:\n    cmd: cat m/*.txt > report.txt\n    deps: [m/, report.sh]\n"
            "    outs: [report.txt]\n")
    repo.gen({"params.yaml": MODELS, "gitpipe.yaml": spec, "report.sh": "v1\n"})
    repo.run("repro", check=True)
    repo.gen({"report.sh": "v2\n"})
    assert repo.run("status").stdout.splitlines()[-1] == "1 of 3 stages stale"
    assert repo.run("repro", "--dry-run").stdout.splitlines()[-1] == "1 of 3 stages would run"
    (repo.path / "parts" / "2024-01-02.txt").unlink()
    assert "\n2 of 3 stages stale (1 of 3 partitions)\n" in repo.run("status").stdout


def test_dvc_s_gc_force_and_fsck_r_say_or_do_what_a_dvc_user_means(
        repo: Repo, tmp_path: Path) -> None:
    """`dvc gc -f` deletes without asking (gitpipe's `-y`); `-r` names the
    remote for push, pull, fetch and gc, and now for fsck too."""
    repo.spec({"a": {"cmd": "echo a > a.txt", "outs": ["a.txt"]}})
    repo.run("init", check=True)
    repo.run("remote", "add", "-d", "store", str(tmp_path / "store"), check=True)
    repo.run("repro", check=True)
    repo.run("push", check=True)
    done = repo.run("gc", "-w", "-f")
    assert done.returncode == 2
    assert "hint: 'gitpipe gc -y' (--yes) deletes without asking (docs/howto/dvc.md)" \
        in done.stderr.splitlines(), done.stderr
    done = repo.run("fsck", "-r", "store")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("checked 1 object(s): 0 bad"), done.stdout


@pytest.mark.parametrize(("spec", "said"), [
    ("stages:\n  trainé:\n    cmd: echo x\n",
     "error: gitpipe.yaml:2: invalid stage name 'trainé' (ASCII letters, digits, _ . -, "
     "starting with a letter or _)"),
    ("stages:\n  city:\n    foreach: [São Paulo, Zürich]\n    do:\n"
     "      cmd: echo ${item} > out-${item}.txt\n      outs: ['out-${item}.txt']\n",
     "error: gitpipe.yaml:3: stage 'city': item name 'São Paulo' cannot name a node: only "
     "ASCII letters, digits and . _ : + - (no spaces, '/' or '@'); name the items with a "
     "mapping, e.g. foreach: {sao-paulo: 'São Paulo'}, and outs with ${key} (and 1 more)"),
])
def test_a_name_with_letters_beyond_ascii_is_refused_saying_which_letters_and_how(
        repo: Repo, spec: str, said: str) -> None:
    """`ü` is a letter: 'letters, digits' alone read as a bug when it was refused."""
    repo.gen({"gitpipe.yaml": spec})
    done = repo.run("validate")
    assert done.returncode == 2, done.stdout
    assert done.stderr.splitlines()[0] == said, done.stderr


def test_the_mapping_a_refused_item_name_suggests_runs(repo: Repo) -> None:
    repo.gen({"gitpipe.yaml": "stages:\n  city:\n    foreach: {sao-paulo: 'São Paulo'}\n"
                              "    do:\n      cmd: echo \"${item}\" > out-${key}.txt\n"
                              "      outs: ['out-${key}.txt']\n"})
    done = repo.run("repro")
    assert done.returncode == 0, done.stderr
    assert repo.read("out-sao-paulo.txt") == "São Paulo\n"


def test_the_repro_table_says_why_an_up_to_date_stage_was_skipped(repo: Repo) -> None:
    """`dvc repro` says a stage "didn't change, skipping"; the table's why
    column was empty for a skipped stage."""
    repo.spec({"a": {"cmd": "echo a > a.txt", "outs": ["a.txt"]}}, commit="spec")
    repo.run("repro", check=True)
    repo.spec({"a": {"cmd": "echo a > a.txt", "outs": ["a.txt"]},
               "c": {"cmd": "echo c > c.txt", "outs": ["c.txt"]}})
    rows = {line.split()[0]: line.split(None, 2)[1:] for line in
            repo.run("repro", check=True).stdout.splitlines() if line.startswith(("a ", "c "))}
    assert rows["a"] == ["skipped", "up to date"]
    assert rows["c"][0] == "ran" and rows["c"][1].endswith("new stage")


def test_status_quiet_answers_by_its_exit_code_as_dvc_status_q(repo: Repo) -> None:
    """A DVC user's `dvc status -q || dvc repro` ported: `status -q` prints
    nothing and exits 1 while anything is stale, 0 once nothing is."""
    repo.gen({"raw.txt": "one\n", "gitpipe.yaml": CHAIN})
    repo.run("init", check=True)
    for args in (("status", "-q"), ("-q", "status"), ("status", "--quiet")):
        stale = repo.run(*args)
        assert (stale.returncode, stale.stdout, stale.stderr) == (1, "", ""), args
    repo.run("repro", check=True)
    done = repo.run("status", "-q")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")

"""staleness.judge on hand-built Tasks, LockEntries and Observations; params helpers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from gitpipe.core.errors import BadInputError, SpecError
from gitpipe.hashing.canonical import canonical, canonical_text, same
from gitpipe.hashing.fingerprint import fingerprint
from gitpipe.pipeline.lockfile import LockedPath, LockEntry
from gitpipe.pipeline.model import Out, ParamRef, Stage, Task
from gitpipe.pipeline.params import ParamsReader, flatten
from gitpipe.project.staleness import Kind, Observation, Reason, judge
from gitpipe.storage.workspace import PathInfo

CMD = "python src/train.py"
FP = "xxh3:f1f1"


def make_task(**changes: Any) -> Task:
    fields: dict[str, Any] = {
        "name": "train", "cmd": CMD, "deps": ("src/train.py", "data/clean.csv"),
        "outs": (Out("model", is_dir=True), Out("metrics.json", cache=False)),
    }
    fields.update(changes)
    return Task.of(Stage(**fields))


def make_entry(**changes: Any) -> LockEntry:
    fields: dict[str, Any] = {
        "cmd": CMD, "fingerprint": FP,
        "deps": (LockedPath("src/train.py", "git:aaaa"),
                 LockedPath("data/clean.csv", "xxh3:bbbb", 10)),
        "params": {"train": {"lr": 0.1, "epochs": 3}},
        "outs": (LockedPath("model", "xxh3:cccc", 20),
                 LockedPath("metrics.json", "xxh3:dddd", 5, metric=True)),
    }
    fields.update(changes)
    return LockEntry(**fields)


def make_seen(deps: dict[str, str | None] | None = None, params: dict[str, Any] | None = None,
              outs: dict[str, str | None] | None = None, fingerprint: str = FP) -> Observation:
    dep_digests = {"src/train.py": "git:aaaa", "data/clean.csv": "xxh3:bbbb"}
    out_digests = {"model": "xxh3:cccc", "metrics.json": "xxh3:dddd"}
    dep_digests.update(deps or {})
    out_digests.update(outs or {})
    return Observation(
        deps={p: PathInfo(p, d, 10) for p, d in dep_digests.items()},
        params={"train": {"lr": 0.1, "epochs": 3}} if params is None else params,
        outs={p: PathInfo(p, d, 20, is_dir=p == "model") for p, d in out_digests.items()},
        fingerprint=fingerprint,
    )


def reasons(task: Task, entry: LockEntry | None, seen: Observation, **kwargs: Any) -> list[str]:
    return [str(reason) for reason in judge(task, entry, seen, **kwargs).reasons]


def test_up_to_date_has_no_reasons() -> None:
    verdict = judge(make_task(), make_entry(), make_seen())
    assert verdict.task == "train"
    assert not verdict.stale
    assert verdict.reasons == ()


def test_new_stage() -> None:
    verdict = judge(make_task(), None, make_seen())
    assert verdict.stale
    assert verdict.reasons == (Reason(Kind.NEW),)
    assert [str(r) for r in verdict.reasons] == ["new stage"]


def test_cmd_changed_shows_the_command_before_and_after() -> None:
    """A `${item.depth}` value the spec changed is seen in the command it
    made: the reason shows both (DVC says only "changed command")."""
    assert reasons(make_task(cmd="python src/train.py --fast"), make_entry(),
                   make_seen(fingerprint="xxh3:other")) == [
        "cmd changed: python src/train.py -> python src/train.py --fast"]


LONG = "python src/train.py --data data/clean/all.csv --model models/tree.json --depth"


@pytest.mark.parametrize(("old", "new", "said"), [
    (f"{LONG} 5 --seed 1", f"{LONG} 6 --seed 1", "cmd changed: … --depth 5 … -> … --depth 6 …"),
    (f"--fast {LONG} 5", f"--slow {LONG} 5", "cmd changed: --fast … -> --slow …"),
    (f"{LONG} 5 --fast --seed 1", f"{LONG} 5 --slow --seed 1",
     "cmd changed: … --fast … -> … --slow …"),  # an option names itself
    (LONG, f"{LONG} 5 --fast", "cmd changed: '5 --fast' added"),
    (f"{LONG} 5 --fast", f"{LONG} 5", "cmd changed: '--fast' removed"),
    (f"{LONG} 5", "make all", "cmd changed"),  # wider than a reason shows
    ("echo a\necho b", "echo a", "cmd changed"),
    # spacing alone: no empty word `'' added`
    (f"{LONG} 5 --fast", f"{LONG}  5 --fast", "cmd changed: spacing only"),
    (f"{LONG} 5 --fast", f"{LONG} 5 --fast ", "cmd changed: spacing only"),
    # inside quotes the shell passes another argument: not spacing only
    (f'{LONG} "a  b"', f'{LONG} "a b"', "cmd changed: spacing inside quotes"),
    ('echo "x  y" > o', 'echo "x y" > o', 'cmd changed: spacing inside quotes: echo "x  y" > o'
     ' -> echo "x y" > o'),
    ('echo "x y"  > o', 'echo "x y" > o', 'cmd changed: spacing only: echo "x y"  > o'
     ' -> echo "x y" > o'),
    (f"{LONG} 5", f"{LONG}  5 --fast", "cmd changed: '--fast' added"),
    # the new word is an option: it names itself, whatever the old one was
    (f"{LONG} 5 --seed 1", f"{LONG} --fast --seed 1", "cmd changed: … 5 … -> … --fast …"),
    # quoted as the terminal shows it, a full-width space not escaped
    (LONG, f"{LONG} データ\u3000保存", "cmd changed: 'データ\u3000保存' added"),
])
def test_a_long_cmd_shows_the_words_that_changed(old: str, new: str, said: str) -> None:
    assert str(Reason(Kind.CMD, old=old, new=new)) == said


def test_dep_modified() -> None:
    seen = make_seen(deps={"src/train.py": "git:eeee"}, fingerprint="xxh3:other")
    assert reasons(make_task(), make_entry(), seen) == ["deps: src/train.py modified"]


def test_dep_missing() -> None:
    task = make_task(deps=("src/train.py", "data/clean.csv", "x"))
    entry = make_entry(deps=(*make_entry().deps, LockedPath("x", "xxh3:1234")))
    seen = make_seen(deps={"x": None}, fingerprint="xxh3:other")
    assert reasons(task, entry, seen) == ["deps: x missing"]


def test_a_missing_directory_dep_is_labelled_as_a_directory() -> None:
    # As the outs are: the lock entry (a `.dir` digest) says it was a directory.
    task = make_task(deps=("src/train.py", "data/clean.csv", "model"))
    entry = make_entry(deps=(*make_entry().deps, LockedPath("model", "xxh3:1234.dir")))
    seen = make_seen(deps={"model": None})
    assert reasons(task, entry, seen) == ["deps: model/ missing"]


def test_dep_added_and_removed() -> None:
    task = make_task(deps=("src/train.py", "extra.csv"))
    seen = Observation(
        deps={"src/train.py": PathInfo("src/train.py", "git:aaaa"),
              "extra.csv": PathInfo("extra.csv", "xxh3:9999")},
        params=make_seen().params, outs=make_seen().outs, fingerprint="xxh3:other")
    assert reasons(task, make_entry(), seen) == ["deps: extra.csv added",
                                                 "deps: data/clean.csv removed"]


def test_param_changed() -> None:
    seen = make_seen(params={"train": {"lr": 0.5, "epochs": 3}}, fingerprint="xxh3:other")
    verdict = judge(make_task(), make_entry(), seen)
    assert verdict.reasons == (Reason(Kind.PARAM, "train.lr", 0.1, 0.5),)
    assert [str(r) for r in verdict.reasons] == ["params: train.lr 0.1 -> 0.5"]


def test_param_added_and_removed() -> None:
    seen = make_seen(params={"train": {"lr": 0.1, "l2": 0.001}}, fingerprint="xxh3:other")
    assert reasons(make_task(), make_entry(), seen) == [
        "params: train.epochs removed", "params: train.l2 added (0.001)"]


def test_param_type_change_is_a_change() -> None:
    seen = make_seen(params={"train": {"lr": 0.1, "epochs": True}}, fingerprint="xxh3:x")
    entry = make_entry(params={"train": {"lr": 0.1, "epochs": 1}})
    assert reasons(make_task(), entry, seen) == ["params: train.epochs 1 -> true"]


def test_out_missing_and_modified_label_directories() -> None:
    missing = make_seen(outs={"model": None})
    assert reasons(make_task(), make_entry(), missing) == ["outs: model/ missing"]
    modified = make_seen(outs={"model": "xxh3:0000"})
    assert reasons(make_task(), make_entry(), modified) == ["outs: model/ modified"]
    file_missing = make_seen(outs={"metrics.json": None})
    assert reasons(make_task(), make_entry(), file_missing) == ["outs: metrics.json missing"]


def test_out_declared_added_and_removed() -> None:
    task = make_task(outs=(Out("model", is_dir=True), Out("new.bin")))
    seen = Observation(make_seen().deps, make_seen().params,
                       {"model": PathInfo("model", "xxh3:cccc", is_dir=True),
                        "new.bin": PathInfo("new.bin", "xxh3:1")}, "xxh3:other")
    assert reasons(task, make_entry(), seen) == ["outs: new.bin added",
                                                 "outs: metrics.json removed"]


def test_upstream() -> None:
    assert reasons(make_task(), make_entry(), make_seen(),
                   upstream=["prepare"]) == ["upstream: prepare"]


def test_always_changed() -> None:
    task = make_task(always_changed=True)
    assert reasons(task, make_entry(), make_seen()) == ["always_changed"]


def test_a_nondeterministic_stage_is_noted_only_beside_a_cause() -> None:
    task = make_task(deterministic=False)
    assert reasons(task, make_entry(), make_seen()) == []  # the flag alone: up to date
    assert reasons(task, make_entry(), make_seen(), upstream=["prepare"]) == [
        "upstream: prepare", "non-deterministic: downstream reruns whenever it runs"]


def test_an_unexplained_fingerprint_change_still_reruns() -> None:
    verdict = judge(make_task(), make_entry(), make_seen(fingerprint="xxh3:other"))
    assert verdict.reasons == (Reason(Kind.FINGERPRINT),)
    assert verdict.needs_run
    assert str(verdict.reasons[0]) == "env, wdir or executor settings changed"


def test_fingerprint_reason_only_when_nothing_else_explains() -> None:
    seen = make_seen(deps={"src/train.py": "git:eeee"}, fingerprint="xxh3:other")
    assert reasons(make_task(), make_entry(), seen) == ["deps: src/train.py modified"]


def test_env_wdir_and_executor_changes_are_each_named() -> None:
    task = make_task(env=(("SEED", "1"),), wdir="sub")
    task = task._replace(runtime=(("image", "python:3.12"),))
    assert reasons(task, make_entry(), make_seen(fingerprint="xxh3:other")) == [
        "wdir changed (. -> sub)", "env changed (now SEED=1)", "executor settings changed"]


def test_an_out_becoming_a_metric_is_re_recorded_without_a_run() -> None:
    task = make_task(outs=(Out("model", is_dir=True), Out("metrics.json")))
    verdict = judge(task, make_entry(), make_seen())
    assert [str(r) for r in verdict.reasons] == [
        "outs: metrics.json declared as an out (re-recorded, no run)"]
    assert verdict.stale and not verdict.needs_run


def test_params_compare_canonically() -> None:
    nan = float("nan")
    entry = make_entry(params={"p": {"x": nan, "s": ["a", "b"], "z": 0.0}})
    seen = make_seen(params={"p": {"x": nan, "s": ["a", "b"], "z": -0.0}})
    assert reasons(make_task(), entry, seen) == []


SCALARS = [0, 1, -1, 2**70, 0.0, -0.0, 1.0, 1e300, float("nan"), float("inf"), True, False,
           None, "", "1", "é", "\udcff", b"1", [1], {"a": 1}, {1, 2}]


@pytest.mark.parametrize("before", SCALARS, ids=repr)
def test_same_agrees_with_the_canonical_texts(before: Any) -> None:
    """`same` answers equal scalars without their texts: always as the texts do."""
    for after in SCALARS:
        try:
            texts = (canonical_text(canonical(before, "")) ==
                     canonical_text(canonical(after, "")))
        except BadInputError:
            texts = False
        assert same(before, after) is texts, (before, after)


def test_frozen_is_never_stale() -> None:
    task = make_task(frozen=True, always_changed=True, cmd="changed")
    seen = make_seen(deps={"x": None}, outs={"model": None}, fingerprint="xxh3:other")
    for entry in (None, make_entry()):
        verdict = judge(task, entry, seen, upstream=["prepare"], force=True)
        assert not verdict.stale


def test_force_adds_forced_first() -> None:
    assert reasons(make_task(), make_entry(), make_seen(), force=True) == ["forced"]
    assert reasons(make_task(), None, make_seen(), force=True) == ["forced"]


def test_several_reasons_in_a_stable_order() -> None:
    seen = make_seen(deps={"data/clean.csv": "xxh3:9"}, params={"train": {"lr": 1, "epochs": 3}},
                     outs={"model": None}, fingerprint="xxh3:other")
    task = make_task(cmd="new", always_changed=True)
    assert reasons(task, make_entry(), seen, upstream=["prepare"]) == [
        "cmd changed: python src/train.py -> new", "deps: data/clean.csv modified",
        "params: train.lr 0.1 -> 1",
        "outs: model/ missing", "always_changed", "upstream: prepare"]


# params helpers --------------------------------------------------------------------

def test_flatten_nested_values() -> None:
    assert flatten({"train": {"lr": 0.1, "opt": {"name": "adam", "beta": [0.9, 0.99]}},
                    "seed": 7, "empty": {}}) == {
        "train.lr": 0.1, "train.opt.name": "adam", "train.opt.beta": [0.9, 0.99],
        "seed": 7, "empty": {}}


def reader(files: dict[str, str]) -> ParamsReader:
    return ParamsReader(files.get)


def stage_with(*refs: ParamRef) -> Stage:
    return Stage(name="train", cmd="x", params=refs)


PARAMS = "train:\n  lr: 0.1\n  layers: 3\nprepare:\n  split: 0.2\n"


def test_params_reader_selects_keys_and_sections() -> None:
    values = reader({"params.yaml": PARAMS, "conf/model.yaml": "dropout: 0.5\n"}).values(
        stage_with(ParamRef("params.yaml", "prepare.split"), ParamRef("params.yaml", "train"),
                   ParamRef("conf/model.yaml", "dropout")))
    assert values == {"conf/model.yaml:dropout": 0.5, "prepare.split": 0.2,
                      "train": {"lr": 0.1, "layers": 3}}
    assert type(values["train"]) is dict


def test_params_reader_missing_key_suggests_near_miss() -> None:
    with pytest.raises(SpecError) as info:
        reader({"params.yaml": PARAMS}).values(stage_with(ParamRef("params.yaml", "train.lrr")))
    assert info.value.problems == [
        "params.yaml: stage 'train': param 'train.lrr' not found (did you mean 'train.lr'?)"]


def test_params_reader_missing_file() -> None:
    with pytest.raises(SpecError, match=r"^conf/x\.yaml: stage 'train': params file does not "
                                        r"exist$"):
        reader({}).values(stage_with(ParamRef("conf/x.yaml", "lr")))


def test_params_reader_reports_every_problem() -> None:
    with pytest.raises(SpecError) as info:
        reader({"params.yaml": PARAMS}).values(stage_with(
            ParamRef("params.yaml", "nope"), ParamRef("other.yaml", "lr"),
            ParamRef("params.yaml", "train.lr")))
    assert len(info.value.problems) == 2


def test_params_file_not_a_mapping() -> None:
    with pytest.raises(BadInputError, match=r"params\.yaml: must be a mapping"):
        reader({"params.yaml": "- a\n- b\n"}).values(stage_with(ParamRef("params.yaml", "a")))


def test_params_file_is_read_once() -> None:
    calls: list[str] = []

    def read(path: str) -> str:
        calls.append(path)
        return PARAMS

    params = ParamsReader(read)
    stage = stage_with(ParamRef("params.yaml", "train.lr"), ParamRef("params.yaml", "train"))
    params.values(stage)
    params.values(stage)
    assert calls == ["params.yaml"]


def test_params_of_a_non_default_file_keep_their_file_prefix() -> None:
    values = reader({"params.yaml": "lr: 1\n", "myparams.yaml": "lr: 2\n"}).values(
        stage_with(ParamRef("params.yaml", "lr"), ParamRef("myparams.yaml", "lr")))
    assert values == {"lr": 1, "myparams.yaml:lr": 2}


def test_params_tell_key_types_apart() -> None:
    nan = float("nan")
    assert not same({1: "a"}, {"1": "a"})
    assert not same({1: "a"}, {1.0: "a"})
    assert not same({True: "a"}, {1: "a"})
    assert not same({dt.date(2024, 3, 1): "a"}, {"2024-03-01": "a"})
    assert not same({"date": "2024-03-01"}, dt.date(2024, 3, 1))
    assert same({"x": nan, 2: [1, 2]}, {2: [1, 2], "x": nan})
    assert flatten({"t": {1: "a", "1": "b", "lr.x": 2, "lr": {"x": 3}, False: 4, 1.5: 5}}) == {
        "t[1]": "a", "t.1": "b", 't["lr.x"]': 2, "t.lr.x": 3, "t[false]": 4, "t[1.5]": 5}


def test_string_keyed_params_hash_as_the_previous_gitpipe_did() -> None:
    # Written by the gitpipe before keys kept their type: a lock entry from it
    # must still hold.
    params = canonical({"train": {"lr": 0.1, "layers": [1, 2], "name": "a"}}, "")
    assert fingerprint("echo x > out.txt", (), {}, params, ["out.txt"]) == \
        "xxh3:e18eb56526f283406f8bd1c009327c8f"


def test_the_parse_cache_keeps_key_types(tmp_path: Path) -> None:
    from gitpipe.core.parsecache import cached_parse
    from gitpipe.core.yamlio import parse_plain

    text = "a:\n  1: x\n  '2': y\n  2024-03-01: z\n  __date__: w\nb: {__map__: v}\n"
    for _ in range(2):  # parsed, then read back from the cache
        data = cached_parse(text, "p.yaml", tmp_path, lambda t: parse_plain(t, "p.yaml"))
        assert data == {"a": {1: "x", "2": "y", dt.date(2024, 3, 1): "z", "__date__": "w"},
                        "b": {"__map__": "v"}}
        assert [type(key) for key in data["a"]] == [int, str, dt.date, str]
        assert (tmp_path / "p.yaml.json").is_file()


def test_a_reason_shared_by_items_keys_its_names_never_its_values() -> None:
    assert Reason(Kind.PARAM, "train.lr", 0.1, 0.5).shared("1") == "params: train.lr 0.1 -> 0.5"
    assert Reason(Kind.PARAM, "m1.lr", 1, 2).shared("m1") == "params: ${key}.lr 1 -> 2"
    assert Reason(Kind.UPSTREAM, "train@a").shared("a") == "upstream: train@${key}"
    assert Reason(Kind.NEW, "item").shared("item") == "new item"
    assert Reason(Kind.WDIR, old="runs/a", new="jobs/a").shared("a") == \
        "wdir changed (runs/${key} -> jobs/${key})"

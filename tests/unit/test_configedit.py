"""The config's line editor: edits keep every comment, blank line, key order
and indentation outside the edited entry, over many shapes of config."""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitpipe.core.yamlio import parse_yaml, plain
from gitpipe.pipeline.configedit import LineEditError, changes_between, edit_text

Edit = Callable[[dict[str, Any]], None]


def read(text: str) -> dict[str, Any]:
    return plain(parse_yaml(text, "test")) or {}


def edited(text: str, edit: Edit) -> str:
    old = read(text)
    new = copy.deepcopy(old)
    edit(new)
    return edit_text(text, old, new)


def add(name: str, url: str, default: bool = False) -> Edit:
    """As `gitpipe remote add`."""
    def edit(raw: dict[str, Any]) -> None:
        raw["remotes"] = {**(raw.get("remotes") or {}), name: {"url": url}}
        if default:
            raw["core"] = {**(raw.get("core") or {}), "remote": name}
    return edit


def remove(name: str) -> Edit:
    """As `gitpipe remote remove`."""
    def edit(raw: dict[str, Any]) -> None:
        del raw["remotes"][name]
        if (raw.get("core") or {}).get("remote") == name:
            del raw["core"]["remote"]
    return edit


def modify(name: str, key: str, value: Any = None, unset: bool = False) -> Edit:
    """As `gitpipe remote modify`."""
    def edit(raw: dict[str, Any]) -> None:
        raw["remotes"] = raw.get("remotes") or {}
        body = raw["remotes"].setdefault(name, {})
        if unset:
            body.pop(key, None)
        else:
            body[key] = value
    return edit


INIT = ("# gitpipe configuration (committed). Per-machine overrides: config.local.yaml\n"
        "core:\n  jobs: null\nremotes: {}\n")


def test_the_first_remote_of_a_new_project() -> None:
    assert edited(INIT, add("store", "/srv/store", default=True)) == (
        "# gitpipe configuration (committed). Per-machine overrides: config.local.yaml\n"
        "core:\n  jobs: null\n  remote: store\nremotes:\n  store:\n    url: /srv/store\n")


def test_comments_and_blank_lines_stay_where_they_were() -> None:
    text = ("# team settings\n\ncore:\n    jobs: 4   # cores of the CI runner\n\n"
            "remotes:   # where outs are shared\n    # the bucket everyone reads\n"
            "    'store':\n        url: s3://bucket/x   # not the old one\n"
            "        profile: dev\n\n    backup:\n        url: /mnt/backup\n# the end\n")
    out = edited(text, modify("store", "url", "s3://bucket/y"))
    assert out == text.replace("s3://bucket/x", "'s3://bucket/y'")
    out = edited(text, modify("backup", "region", "eu"))
    assert out == text.replace("/mnt/backup\n", "/mnt/backup\n        region: eu\n")
    out = edited(text, remove("store"))
    assert out == ("# team settings\n\ncore:\n    jobs: 4   # cores of the CI runner\n\n"
                   "remotes:   # where outs are shared\n\n    backup:\n        url: /mnt/backup\n"
                   "# the end\n")
    out = edited(text, add("third", "/x"))
    assert out == text.replace("/mnt/backup\n", "/mnt/backup\n    third:\n        url: /x\n")


def test_the_last_remote_leaves_an_empty_mapping() -> None:
    text = "core:\n  remote: a  # the default\nremotes:  # shared\n  a:\n    url: /x\n"
    assert edited(text, remove("a")) == "core: {}\nremotes: {}  # shared\n"


def test_a_null_section_gets_a_block() -> None:
    text = "core:\n  jobs: 2\nremotes:   # later\n"
    assert edited(text, add("a", "/x")) == "core:\n  jobs: 2\nremotes:   # later\n  a:\n" \
        "    url: /x\n"
    assert edited("remotes: ~\n", add("a", "/x")) == "remotes:\n  a:\n    url: /x\n"


def test_options_of_every_type_and_an_unset() -> None:
    text = "remotes:\n  a:\n    url: /x\n"
    for value in (3, 1.5, True, None, "two words", "yes", "a: b", "#x", [1, "b"], {"k": "v"},
                  "line\nbreak", ""):
        out = edited(text, modify("a", "opt", value))
        assert read(out)["remotes"]["a"] == {"url": "/x", "opt": value}
        assert edited(out, modify("a", "opt", unset=True)) == text


def test_a_value_turned_into_a_mapping_and_back() -> None:
    text = "remotes:\n  a:\n    url: /x  # here\n    creds: none\n"
    out = edited(text, modify("a", "creds", {"key": "k", "secret": "s"}))
    assert out == "remotes:\n  a:\n    url: /x  # here\n    creds:\n      key: k\n" \
        "      secret: s\n"
    assert edited(out, modify("a", "creds", "none")) == text


def test_line_ends_of_the_file_are_kept() -> None:
    text = "# win\r\nremotes:\r\n  a:\r\n    url: /x\r\n"
    assert edited(text, modify("a", "profile", "p")) == text + "    profile: p\r\n"
    assert edited("remotes:\n  a:\n    url: /x", add("b", "/y")) == \
        "remotes:\n  a:\n    url: /x\n  b:\n    url: /y\n"


@pytest.mark.parametrize("text, why", [
    ("remotes: {a: {url: /x}}\n", "flow style"),
    ("remotes:\n  a: {url: /x}\n", "flow style"),
    ("base: &b\n  url: /x\nremotes:\n  a:\n    <<: *b\n", "merge key"),
    ("remotes:\n  a: &x\n    url: /x\nother:\n  b: *x\n", "read back"),
])
def test_shapes_beyond_the_editor_are_refused(text: str, why: str) -> None:
    with pytest.raises(LineEditError, match=why):
        edited(text, modify("a", "profile", "p"))


def test_a_multi_line_value_is_not_replaced() -> None:
    text = "remotes:\n  a:\n    url: /x\n    note: |\n      one\n      two\n"
    with pytest.raises(LineEditError, match="several lines"):
        edited(text, modify("a", "note", "short"))
    assert edited(text, modify("a", "note", unset=True)) == "remotes:\n  a:\n    url: /x\n"


def test_changes_between_walks_into_mappings() -> None:
    old = {"core": {"jobs": 1, "remote": "a"}, "remotes": {"a": {"url": "/x"}}}
    new = {"core": {"jobs": 1}, "remotes": {"a": {"url": "/y"}, "b": {"url": "/z"}}}
    assert [(c.path, c.value, c.remove) for c in changes_between(old, new)] == [
        (("core", "remote"), None, True), (("remotes", "a", "url"), "/y", False),
        (("remotes", "b"), {"url": "/z"}, False)]


# -- property: many shapes of config, every remote edit ---------------------

NAMES = ["origin", "store", "back up", "s3"]


@st.composite
def configs(draw: Any) -> tuple[str, list[str]]:
    """A config text in block style, with comments, blank lines, quoted keys
    and an indentation of 2 to 4; and its remotes' names. Comments that must
    survive every edit say `keep-N`; those about one remote say `about-NAME`."""
    step = " " * draw(st.sampled_from([2, 3, 4]))
    names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=3))
    counter = itertools.count()

    def keep() -> str:
        return f"# keep-{next(counter)}"

    def tail(about: str | None = None) -> str:
        if not draw(st.booleans()):
            return ""
        return "  " + (f"# about-{about}" if about else keep())

    def key(name: str) -> str:
        return draw(st.sampled_from([name, f"'{name}'", f'"{name}"'])) \
            if " " not in name else f"'{name}'"

    default = draw(st.sampled_from([None, *names]))
    core = [f"core:{tail()}\n", f"{step}jobs: {draw(st.integers(1, 8))}{tail()}\n"]
    if default is not None:
        core.append(f"{step}remote: {key(default)}{tail(default)}\n")
    remotes = [f"remotes:{tail()}\n"]
    for name in names:
        if draw(st.booleans()):
            remotes.append(f"{step}# about-{name}\n")
        remotes.append(f"{step}{key(name)}:{tail(name)}\n")
        remotes.append(f"{step * 2}url: /data/{name.replace(' ', '-')}{tail(name)}\n")
        if draw(st.booleans()):
            remotes.append(f"{step * 2}profile: p{tail(name)}\n")
        if draw(st.booleans()):
            remotes.append("\n")
    if not names:
        remotes = [draw(st.sampled_from(["remotes: {}\n", "remotes:\n", "remotes: {}  # keep-x\n"
                                         .replace("keep-x", f"keep-{next(counter)}"), ""]))]
    blocks = [core, remotes]
    if draw(st.booleans()):
        blocks.reverse()
    head = [f"{keep()}\n", "\n"] if draw(st.booleans()) else []
    gap = ["\n"] if draw(st.booleans()) else []
    return "".join(head + blocks[0] + gap + blocks[1]), names


@st.composite
def remote_edits(draw: Any, names: list[str]) -> Edit:
    other = [n for n in NAMES if n not in names]
    kinds = ["modify"] + (["remove", "unset"] if names else []) + (["add"] if other else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "add":
        return add(draw(st.sampled_from(other)), "/new/place", draw(st.booleans()))
    if kind == "remove":
        return remove(draw(st.sampled_from(names)))
    if kind == "unset":
        return modify(draw(st.sampled_from(names)), draw(st.sampled_from(["url", "profile"])),
                      unset=True)
    value = draw(st.one_of(st.integers(), st.booleans(), st.text(max_size=12), st.none()))
    return modify(draw(st.sampled_from(names or NAMES)),
                  draw(st.sampled_from(["url", "profile", "region", "endpoint url"])), value)


# The lines an edit may change: those of a remote, its options, the default,
# and a section key whose value it writes anew.
TOUCHED = r"about-|url:|profile:|remote:|^\s*['\"]?[\w ]+['\"]?:\s*(\{\})?\s*(#.*)?$"


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_every_remote_edit_keeps_the_rest_of_the_file(data: Any) -> None:
    text, names = data.draw(configs())
    edit = data.draw(remote_edits(names))
    wanted = copy.deepcopy(read(text))
    edit(wanted)
    out = edited(text, edit)
    assert read(out) == wanted
    kept = re.findall(r"keep-\d+", text)
    assert re.findall(r"keep-\d+", out) == kept
    before, after = text.splitlines(), out.splitlines()
    gone = [line for line in before if line not in after]
    assert all(re.search(TOUCHED, line) for line in gone), gone
    assert len(after) - len(before) <= 4

"""`gitpipe remote add/modify/remove` edit .gitpipe/config.yaml in place:
the user's comments, blank lines and layout stay."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Repo

CONFIG = ".gitpipe/config.yaml"


def initialised(repo: Repo) -> Repo:
    repo.spec({"a": {"cmd": "echo a > a.txt", "outs": ["a.txt"]}})
    repo.run("init", check=True)
    return repo


def test_remote_commands_keep_comments_and_layout(repo: Repo, tmp_path: Path) -> None:
    initialised(repo)
    store, backup = tmp_path / "store", tmp_path / "backup"
    repo.run("remote", "add", "-d", "store", str(store), check=True)
    text = repo.read(CONFIG)
    assert text.startswith("# gitpipe configuration (committed).")
    assert f"core:\n  jobs: null\n  remote: store\nremotes:\n  store:\n    url: {store}\n" in text
    hand = text.replace("  jobs: null\n", "  jobs: 4   # the CI runner's cores\n\n") \
        .replace("remotes:\n", "remotes:   # shared outs\n  # the team's folder\n")
    repo.gen({CONFIG: hand})
    repo.run("remote", "modify", "store", "auto_mkdir", "true", check=True)
    repo.run("remote", "add", "backup", str(backup), check=True)
    assert repo.read(CONFIG) == hand + f"    auto_mkdir: true\n  backup:\n    url: {backup}\n"
    done = repo.run("remote", "remove", "store", check=True)
    assert done.stderr == ""
    assert repo.read(CONFIG) == (
        "# gitpipe configuration (committed). Per-machine overrides: config.local.yaml\n"
        "core:\n  jobs: 4   # the CI runner's cores\n\n"
        f"remotes:   # shared outs\n  backup:\n    url: {backup}\n")
    assert repo.run("remote", "list", check=True).stdout == (
        f"backup\t{backup} (default: the only remote)\n")


def test_a_flow_style_file_without_comments_is_rewritten_with_a_warning(
        repo: Repo, tmp_path: Path) -> None:
    initialised(repo)
    repo.gen({CONFIG: f"remotes: {{store: {{url: '{tmp_path / 's'}'}}}}\n"})
    done = repo.run("remote", "modify", "store", "auto_mkdir", "true", check=True)
    assert "warning: .gitpipe/config.yaml: rewritten in block style" in done.stderr
    assert repo.read(CONFIG) == f"remotes:\n  store:\n    url: {tmp_path / 's'}\n" \
        "    auto_mkdir: true\n"


def test_a_flow_style_file_with_comments_is_left_alone(repo: Repo, tmp_path: Path) -> None:
    initialised(repo)
    text = f"# ours\nremotes: {{store: {{url: '{tmp_path / 's'}'}}}}\n"
    repo.gen({CONFIG: text})
    done = repo.run("remote", "modify", "store", "auto_mkdir", "true")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "error: .gitpipe/config.yaml: cannot edit it in place: a mapping on the edited " \
        "path is written in flow style" in done.stderr
    assert "hint: write that part of the file in block style" in done.stderr
    assert repo.read(CONFIG) == text


def test_an_edit_the_config_would_refuse_is_not_written(repo: Repo, tmp_path: Path) -> None:
    initialised(repo)
    repo.run("remote", "add", "store", str(tmp_path / "s"), check=True)
    before = repo.read(CONFIG)
    done = repo.run("remote", "modify", "store", "url", "http://[fe80/x")
    assert done.returncode == 2 and "remotes.store.url does not parse" in done.stderr
    done = repo.run("remote", "modify", "elsewhere", "profile", "dev")
    assert done.returncode == 2 and "unknown remote 'elsewhere'" in done.stderr
    assert "hint: 'gitpipe remote add elsewhere URL' adds it" in done.stderr
    done = repo.run("remote", "remove", "nope")
    assert done.returncode == 2 and "hint: 'gitpipe remote list' shows the remotes" in done.stderr
    assert repo.read(CONFIG) == before


def test_the_local_file_is_edited_the_same_way(repo: Repo, tmp_path: Path) -> None:
    initialised(repo)
    repo.run("remote", "add", "store", str(tmp_path / "s"), check=True)
    repo.gen({".gitpipe/config.local.yaml": "# my machine\nremotes:\n  store:\n"
                                            "    profile: mine   # not the team's\n"})
    repo.run("remote", "modify", "--local", "store", "region", "eu", check=True)
    assert repo.read(".gitpipe/config.local.yaml") == (
        "# my machine\nremotes:\n  store:\n    profile: mine   # not the team's\n"
        "    region: eu\n")


def test_a_relative_folder_remote_that_a_clone_cannot_reach_is_named_as_missing(
        repo: Repo, tmp_path: Path) -> None:
    initialised(repo)
    repo.run("remote", "add", "-d", "store", "../store", check=True)
    repo.run("repro", check=True)
    repo.run("push", check=True)
    repo.commit("results")
    deep = repo.clone_to(tmp_path / "deep" / "er" / "copy")
    done = deep.run("pull")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert f"not in remote 'store', whose folder {tmp_path / 'deep' / 'er' / 'store'} does " \
        "not exist" in done.stderr, done.stderr
    assert "a.txt (stage 'a'" in done.stderr
    assert "gitpipe remote modify store url PATH" in done.stderr
    near = repo.clone_to(tmp_path / "near")
    assert near.run("pull").returncode == 0 and near.read("a.txt") == "a\n"


def test_a_url_no_filesystem_could_open_is_refused_when_added(repo: Repo) -> None:
    initialised(repo)
    before = repo.read(CONFIG)
    for url, problem in (("htp://host/x", "unknown protocol 'htp' (did you mean 'http'?)"),
                         ("s3:/bucket/p", "did you mean 's3://bucket/p'?")):
        done = repo.run("remote", "add", "store", url)
        assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
        assert "remote 'store': " in done.stderr and problem in done.stderr, done.stderr
    assert repo.read(CONFIG) == before
    # A chain of filesystems is this machine's choice (a committed one is refused).
    assert repo.run("remote", "add", "--local", "store",
                    "simplecache::s3://bucket/p").returncode == 0


def test_modify_of_a_mistyped_name_adds_no_second_remote(repo: Repo, tmp_path: Path) -> None:
    """DVC refuses `remote modify` of a remote it does not know: here a typo
    added `stroe` beside `store`, said `url = …`, and push kept going to the
    old folder."""
    initialised(repo)
    repo.run("remote", "add", "-d", "store", str(tmp_path / "s"), check=True)
    before = repo.read(CONFIG)
    done = repo.run("remote", "modify", "stroe", "url", str(tmp_path / "new"))
    assert done.returncode == 2, done.stdout
    assert done.stderr.splitlines() == [
        "error: unknown remote 'stroe' (did you mean 'store'?)",
        "hint: 'gitpipe remote add stroe URL' adds it; 'gitpipe remote list' shows the remotes"]
    assert repo.read(CONFIG) == before
    done = repo.run("remote", "modify", "--local", "store", "profile", "mine")
    assert done.returncode == 0, done.stderr  # the committed remote, set for this machine
    repo.gen({CONFIG: before + "  bare:\n    auto_mkdir: true\n"})
    done = repo.run("remote", "modify", "bare", "url", str(tmp_path / "b"))
    assert done.returncode == 0, done.stderr  # the hint of 'has no url' mends it


def test_remote_default_switches_the_default_as_dvc_s_does(repo: Repo, tmp_path: Path) -> None:
    """`dvc remote default NAME`: here `remote add -d` of a remote already
    added refused with 'use gitpipe remote modify', and `remote modify NAME
    default true` wrote `default: true` as a storage option, the default
    unchanged: a second remote could not be made the default but by hand."""
    initialised(repo)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    repo.run("remote", "add", "-d", "a", str(tmp_path / "a"), check=True)
    repo.run("remote", "add", "b", str(tmp_path / "b"), check=True)
    before = repo.read(CONFIG)
    again = repo.run("remote", "add", "-d", "b", str(tmp_path / "b"))
    assert again.returncode == 2 and again.stderr.splitlines() == [
        "error: remote 'b' exists",
        "hint: 'gitpipe remote default b' makes it the default; 'gitpipe remote modify b url "
        "URL' changes its URL"], again.stderr
    modify = repo.run("remote", "modify", "b", "default", "true")
    assert modify.returncode == 2 and modify.stderr.splitlines() == [
        "error: 'default' is not an option of a remote",
        "hint: 'gitpipe remote default b' makes it the default"], modify.stderr
    typo = repo.run("remote", "default", "bb")
    assert typo.returncode == 2 and "unknown remote 'bb' (did you mean 'b'?)" in typo.stderr
    assert repo.read(CONFIG) == before

    done = repo.run("remote", "default", "b", check=True)
    assert done.stdout == "default remote: 'b'\n"
    assert repo.read(CONFIG) == before.replace("  remote: a\n", "  remote: b\n")
    shown = repo.run("remote", "default", check=True)
    assert (shown.stdout, shown.stderr) == ("b\n", "")
    assert repo.run("remote", "list", check=True).stdout == (
        f"a\t{tmp_path / 'a'}\nb\t{tmp_path / 'b'} (default)\n")
    repo.run("repro", check=True)
    repo.run("push", check=True)  # to b, the default now
    assert any((tmp_path / "b").iterdir()) and not any((tmp_path / "a").iterdir())

    repo.run("remote", "default", "--unset", check=True)
    assert "remote:" not in repo.read(CONFIG).split("remotes:")[0]
    none = repo.run("push")
    assert none.returncode == 2 and none.stderr.splitlines() == [
        "error: several remotes and no default",
        "hint: gitpipe remote default NAME (or -r NAME)"], none.stderr
    repo.run("remote", "default", "a", "--local", check=True)
    assert repo.read(".gitpipe/config.local.yaml") == "core:\n  remote: a\n"
    assert repo.run("remote", "default", check=True).stdout == "a\n"
    # The committed default changed while this machine's file names another:
    # the local one holds, and the command says so rather than claim otherwise.
    outweighed = repo.run("remote", "default", "b", check=True)
    assert outweighed.stdout == "default remote: 'b'\n"
    assert outweighed.stderr == (
        "warning: .gitpipe/config.local.yaml sets core.remote to 'a', which outweighs "
        ".gitpipe/config.yaml: 'gitpipe remote default --local b' sets it there too\n"), \
        outweighed.stderr
    assert repo.run("remote", "default", check=True).stdout == "a\n"
    added = repo.run("remote", "add", "-d", "c", str(tmp_path / "c"), check=True)
    assert added.stderr.splitlines()[0] == (
        "warning: .gitpipe/config.local.yaml sets core.remote to 'a', which outweighs "
        ".gitpipe/config.yaml: 'gitpipe remote default --local c' sets it there too"), \
        added.stderr


def test_the_only_remote_is_the_default_push_uses_and_the_one_printed(
        repo: Repo, tmp_path: Path) -> None:
    """With one remote and no `core.remote`, push uses that remote; `remote
    default` names the same one and says it is implied, not set."""
    initialised(repo)
    (tmp_path / "only").mkdir()
    repo.run("remote", "add", "only", str(tmp_path / "only"), check=True)
    assert "remote:" not in repo.read(CONFIG).split("remotes:")[0]
    shown = repo.run("remote", "default", check=True)
    assert (shown.stdout, shown.stderr) == (
        "only\n", "note: none is set; the only remote is used\n")
    assert repo.run("remote", "list", check=True).stdout == (
        f"only\t{tmp_path / 'only'} (default: the only remote)\n")
    repo.run("repro", check=True)
    repo.run("push", check=True)
    assert any((tmp_path / "only").iterdir())


def test_removing_the_remote_the_local_file_makes_default_clears_that_default(
        repo: Repo, tmp_path: Path) -> None:
    """As `dvc remote remove` clears the default at every level: the local
    file's `core.remote` named a remote gone from both files, and push then
    said only `unknown remote 'b'`."""
    initialised(repo)
    for name in ("a", "b"):
        repo.run("remote", "add", name, str(tmp_path / name), check=True)
    repo.run("remote", "default", "--local", "b", check=True)
    done = repo.run("remote", "remove", "b", check=True)
    assert done.stderr == ("note: .gitpipe/config.local.yaml named it the default; "
                           "that line is removed\n"), done.stderr
    assert "b" not in repo.read(".gitpipe/config.local.yaml")
    shown = repo.run("remote", "default", check=True)
    assert (shown.stdout, shown.stderr) == ("a\n", "note: none is set; the only remote is used\n")


def test_no_default_remote_says_the_command_that_gives_one(repo: Repo, tmp_path: Path) -> None:
    initialised(repo)
    none = repo.run("remote", "default")
    assert none.returncode == 2 and none.stderr.splitlines() == [
        "error: no default remote",
        "hint: 'gitpipe remote add -d NAME URL' adds a remote and makes it the default"]
    for name in ("a", "b"):
        repo.run("remote", "add", name, str(tmp_path / name), check=True)
    assert repo.run("remote", "default").stderr.splitlines()[1] == (
        "hint: 'gitpipe remote default NAME' sets one")
    repo.run("remote", "default", "a", check=True)
    repo.run("remote", "default", "--unset", "--local", check=True)
    unset = repo.run("remote", "default")
    assert unset.returncode == 2 and unset.stderr.splitlines()[1] == (
        "hint: 'gitpipe remote default --local NAME' sets one (core.remote is set to none, "
        "and .gitpipe/config.local.yaml outweighs .gitpipe/config.yaml)"), unset.stderr


def test_modify_takes_a_list_value_as_trust_is_written(repo: Repo, tmp_path: Path) -> None:
    """config.md's `trust:` is a list of keys; `remote modify NAME trust
    '[{hmac_env: …}]'` ended in `unexpected RepresenterError`, the file
    unchanged, where a mapping value was written."""
    initialised(repo)
    repo.run("remote", "add", "-d", "store", str(tmp_path / "s"), check=True)
    done = repo.run("remote", "modify", "store", "trust", "[{hmac_env: GITPIPE_CACHE_KEY}]")
    assert done.returncode == 0, done.stderr
    assert repo.read(CONFIG).endswith("    trust: [{hmac_env: GITPIPE_CACHE_KEY}]\n")
    assert repo.run("validate").returncode == 0
    repo.gen({CONFIG: repo.read(CONFIG) + "# ours\n"})  # a comment: no rewrite in block style
    done = repo.run("remote", "modify", "--local", "store", "trust", "[{hmac_env: GITPIPE_MY_KEY}]")
    assert done.returncode == 0, done.stderr


def test_modify_echoes_a_value_as_yaml_writes_it(repo: Repo, tmp_path: Path) -> None:
    """The line after `remote modify` shows the value as config.yaml now holds
    it, in YAML, not Python's repr (`[{'hmac_env': …}]`, `True`); a secret
    stays masked inside a mapping."""
    initialised(repo)
    repo.run("remote", "add", "-d", "store", str(tmp_path / "s"), check=True)
    said = {("trust", "[{hmac_env: GITPIPE_CACHE_KEY}]"):
            "remote 'store': trust = [{hmac_env: GITPIPE_CACHE_KEY}]",
            ("use_ssl", "false"): "remote 'store': use_ssl = false",
            ("client_kwargs", "{region_name: eu-west-1, aws_secret_access_key: s3cr3t}"):
            "remote 'store': client_kwargs = {aws_secret_access_key: '****', "
            "region_name: eu-west-1}",
            ("profile", "dev"): "remote 'store': profile = dev"}
    for (key, value), line in said.items():
        done = repo.run("remote", "modify", "--local", "store", key, value)
        assert (done.returncode, done.stdout) == (0, line + "\n"), done.stderr
    assert "s3cr3t" not in repo.run("remote", "list").stdout

def test_a_dvc_option_name_on_an_s3_remote_is_named_before_any_transfer(repo: Repo) -> None:
    """DVC's `secret_access_key` (s3fs: `secret`) reached aiobotocore's session
    and push ended in `unexpected TypeError: AioSession.__init__() got an
    unexpected keyword argument`, naming neither the remote nor the file."""
    initialised(repo)
    repo.run("remote", "add", "-d", "store", "s3://bucket/p", check=True)
    repo.run("remote", "modify", "--local", "store", "secret_access_key", "s3cr3t-value",
             check=True)
    done = repo.run("push")
    assert done.returncode == 2 and done.stderr.splitlines() == [
        "error: .gitpipe/config.yaml or config.local.yaml: remote 'store': "
        "'secret_access_key' is not a storage option s3fs takes",
        "hint: s3fs calls it secret; 'gitpipe remote modify store secret_access_key --unset' "
        "(with --local for config.local.yaml) removes it"], done.stderr

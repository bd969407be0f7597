"""Names and places: where a relative remote, a hook, a log or a deep tree ends up,
and what gitpipe shows of a remote's credentials. Each attack is built for real
and the whole temp tree compared before and after."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import GIT_ENV, Repo
from tests.security.conftest import assert_only_changed, snapshot


def gitpipe(cwd: Path, *args: str, env: dict[str, str] | None = None,
            ) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it: a subprocess started in `cwd` (not `-C`)."""
    full = {**os.environ, **GIT_ENV, "NO_COLOR": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", "gitpipe", *args], cwd=cwd, env=full,
                          capture_output=True, text=True)


def built(repo: Repo, config: dict[str, object] | None = None) -> Repo:
    """A one-stage pipeline, run, with `config` as the committed .gitpipe/config.yaml."""
    repo.gen({"sub/readme.txt": "a subfolder\n"})
    repo.spec({"make": {"cmd": "echo made > made.txt", "outs": ["made.txt"]}})
    repo.run("init", check=True)
    if config is not None:
        repo.gen({".gitpipe/config.yaml": config})
    repo.run("repro", check=True)
    repo.commit("built")
    return repo


def store_files(store: Path) -> list[Path]:
    return [p for p in (store / "files").rglob("*") if p.is_file()]


def assert_clean_error(done: subprocess.CompletedProcess[str], *parts: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    for part in parts:
        assert part in done.stderr, done.stderr


# -- a relative remote URL is the project root's ------------------------------------

def test_push_from_a_subfolder_writes_the_relative_remote_beside_the_project(
        repo: Repo, tmp_path: Path) -> None:
    built(repo, {"remotes": {"store": {"url": "../store"}}, "core": {"remote": "store"}})
    before = snapshot(tmp_path)
    done = gitpipe(repo.path / "sub", "push")
    assert done.returncode == 0, done.stderr
    assert len(store_files(tmp_path / "store")) == 1
    assert not (repo.path / "store").exists() and not (repo.path / "sub/store").exists()
    assert_only_changed(before, snapshot(tmp_path), ["store", "repo/.gitpipe"])


def test_remote_added_in_a_subfolder_is_kept_relative_to_the_project_root(
        repo: Repo, tmp_path: Path) -> None:
    built(repo)
    added = gitpipe(repo.path / "sub", "remote", "add", "-d", "store", "../../store")
    assert added.returncode == 0, added.stderr
    assert "url: ../store" in repo.read(".gitpipe/config.yaml")
    assert gitpipe(repo.path, "push").returncode == 0
    assert len(store_files(tmp_path / "store")) == 1


def test_pre_push_hook_of_a_project_in_a_subfolder_pushes_to_its_relative_remote(
        repo: Repo, tmp_path: Path) -> None:
    # git starts hooks at the top of the work tree, two levels above the project.
    project = repo.path / "sub/proj"
    repo.gen({"sub/proj/gitpipe.yaml": {"stages": {"make": {
        "cmd": "echo made > made.txt", "outs": ["made.txt"]}}}})
    for args in (["init"], ["remote", "add", "-d", "store", "../../../store"], ["repro"],
                 ["hooks", "install"]):
        done = gitpipe(project, *args)
        assert done.returncode == 0, done.stderr
    repo.commit("project")
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "origin.git")], check=True)
    repo.git("remote", "add", "origin", str(tmp_path / "origin.git"))
    before = snapshot(tmp_path)
    repo.git("push", "-q", "origin", "main")
    assert len(store_files(tmp_path / "store")) == 1
    # repo/.cache: Repo.git runs git with HOME set to the repository.
    assert_only_changed(before, snapshot(tmp_path),
                        ["store", "origin.git", "repo/sub/proj/.gitpipe", "repo/.cache"])


# -- a committed remote inside the repository is refused ----------------------------

@pytest.mark.parametrize("url", ["./data", ".git/objects", "sub/../.git", "{root}/data",
                                 "file://{root}/data"])
def test_committed_remote_inside_the_repository_is_refused(
        repo: Repo, tmp_path: Path, url: str) -> None:
    url = url.format(root=repo.path)
    built(repo, {"remotes": {"evil": {"url": url}}, "core": {"remote": "evil"}})
    before = snapshot(tmp_path)
    for command in ("push", "pull", "fetch"):
        done = repo.run(command)
        assert_clean_error(done, ".gitpipe/config.yaml", "remote 'evil'",
                           "inside the repository")
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe/tmp"])


def test_committed_remote_through_a_committed_symlink_into_git_is_refused(
        repo: Repo, tmp_path: Path) -> None:
    (repo.path / "shared").symlink_to(".git")
    built(repo, {"remotes": {"evil": {"url": "shared/store"}}})
    before = snapshot(tmp_path)
    assert_clean_error(repo.run("push"), "remote 'evil'", "inside the repository")
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe/tmp"])


def test_remote_add_refuses_a_folder_inside_the_repository_unless_local(
        repo: Repo, tmp_path: Path) -> None:
    built(repo)
    before = snapshot(tmp_path)
    assert_clean_error(repo.run("remote", "add", "in", "store"), "inside the repository",
                       "config.local.yaml")
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe/tmp"])
    # The user's own machine-local choice (an ignored folder, say) is theirs to make.
    repo.run("remote", "add", "--local", "-d", "in", ".store", check=True)
    assert gitpipe(repo.path, "push").returncode == 0
    assert len(store_files(repo.path / ".store")) == 1


# -- remote list never shows a credential -------------------------------------------

SECRETS = ("AKIAEXAMPLEKEY", "s3cr3t-value", "sess-token-value", "url-password",
           "ghp_urltoken", "nested-secret")


def test_remote_list_masks_credentials(repo: Repo, tmp_path: Path) -> None:
    built(repo)
    repo.gen({".gitpipe/config.local.yaml": {"remotes": {
        "s3": {"url": "s3://alice:url-password@bucket/prefix", "key": "AKIAEXAMPLEKEY",
               "secret": "s3cr3t-value", "token": "sess-token-value", "region": "eu-west-1",
               "kms_key_id": "alias/readable",
               "client_kwargs": {"aws_secret_access_key": "nested-secret",
                                 "endpoint_url": "http://127.0.0.1:9000"}},
        "web": {"url": "https://ghp_urltoken@example.invalid/cache"}}}})
    before = snapshot(tmp_path)
    done = repo.run("remote", "list", check=True)
    for secret in SECRETS:
        assert secret not in done.stdout + done.stderr
    assert "s3://alice:****@bucket/prefix" in done.stdout
    assert "https://****@example.invalid/cache" in done.stdout
    assert "key=****" in done.stdout and "secret=****" in done.stdout
    assert "region=eu-west-1" in done.stdout and "kms_key_id=alias/readable" in done.stdout
    assert "http://127.0.0.1:9000" in done.stdout
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe/tmp"])


def test_remote_modify_still_stores_a_secret_and_does_not_echo_it(repo: Repo) -> None:
    built(repo)
    repo.run("remote", "add", "--local", "s3", "s3://bucket/prefix", check=True)
    done = repo.run("remote", "modify", "--local", "s3", "secret", "s3cr3t-value", check=True)
    assert "s3cr3t-value" not in done.stdout and "secret = ****" in done.stdout
    assert "s3cr3t-value" in repo.read(".gitpipe/config.local.yaml")
    assert repo.project().remote_settings("s3")["secret"] == "s3cr3t-value"


# -- bounded work: output without newlines, logs run after run ----------------------

MAX_RSS = """\
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
sys.stderr.buffer.write(done.stderr)
print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def test_a_stage_printing_200_mb_without_a_newline_runs_in_bounded_memory(
        repo: Repo, tmp_path: Path) -> None:
    size = 200_000_000
    repo.spec({"loud": {"cmd": f"head -c {size} /dev/zero | tr '\\0' x; echo done > o",
                        "outs": ["o"]}})
    repo.run("init", check=True)
    repo.commit("loud")
    before = snapshot(tmp_path)
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-c", MAX_RSS, sys.executable, "-m", "gitpipe",
                           "repro"], cwd=repo.path, env=env, capture_output=True, text=True)
    code, max_rss_kib = (int(x) for x in done.stdout.split())
    assert code == 0 and "Traceback" not in done.stderr, done.stderr
    assert max_rss_kib < 150_000, f"peak RSS {max_rss_kib} KiB for {size} bytes of output"
    logs = list((repo.path / ".gitpipe/logs").iterdir())
    assert [log.stat().st_size for log in logs] == [size]
    assert_only_changed(before, snapshot(tmp_path),
                        ["repo/.gitpipe", "repo/o", "repo/gitpipe.lock", "repo/.gitignore"])


def test_logs_are_pruned_to_the_retention_and_nothing_else_is_touched(
        repo: Repo, tmp_path: Path) -> None:
    victim = tmp_path / "victim-2024.log"
    victim.write_text("precious\n")
    repo.spec({"a": {"cmd": "echo a; echo a > a.txt", "outs": ["a.txt"]},
               "b": {"cmd": "echo b; echo b > b.txt", "outs": ["b.txt"]}})
    repo.run("init", check=True)
    repo.gen({".gitpipe/config.yaml": {"core": {"log_retention": 2}}})
    repo.commit("two stages")
    logs = repo.path / ".gitpipe/logs"
    logs.mkdir()
    # A symlink named like a log of `a`, and a file of the user's: never deleted.
    (logs / "a-20000101T000000-1.log").symlink_to(victim)
    (logs / "notes.txt").write_text("mine\n")
    runs = []
    for _ in range(4):
        repo.run("repro", "-f", check=True)
        runs.append(sorted(p.name for p in logs.iterdir()))
    before = snapshot(tmp_path)
    repo.run("repro", "-f", "b", check=True)
    after = sorted(p.name for p in logs.iterdir())
    regular = [n for n in after if n.endswith(".log") and not (logs / n).is_symlink()]
    assert len([n for n in regular if n.startswith("a-")]) == 2
    assert len([n for n in regular if n.startswith("b-")]) == 2
    newest_b = max(runs[-1], key=lambda n: (n.startswith("b-"), n))
    assert newest_b in after  # the newest are kept
    assert (logs / "a-20000101T000000-1.log").is_symlink() and (logs / "notes.txt").exists()
    assert victim.read_text() == "precious\n"
    # Pruning b's logs touched none of a's.
    assert_only_changed(before, snapshot(tmp_path),
                        ["repo/.gitpipe/state.db", "repo/.gitpipe/tmp",
                         "repo/gitpipe.lock", "repo/b.txt"]
                        + [f"repo/.gitpipe/logs/{n}" for n in runs[-1] + after
                           if n.startswith("b-")])


def test_log_retention_must_be_a_whole_number(repo: Repo) -> None:
    repo.spec({"a": {"cmd": "echo a > a.txt", "outs": ["a.txt"]}})
    repo.run("init", check=True)
    repo.gen({".gitpipe/config.yaml": {"core": {"log_retention": 0}}})
    assert_clean_error(repo.run("repro"), "core.log_retention", "at least 1")


def test_long_lines_reach_the_live_output_in_bounded_pieces() -> None:
    from gitpipe.executors.output import split_lines

    lines, rest = split_lines(b"one\ntwo\n" + b"x" * 10, limit=4)
    assert lines == [b"one", b"two", b"xxxx", b"xxxx"] and rest == b"xx"


# -- hooks go where git runs them, and never destroy a hook already there -----------

USER_HOOK = "#!/bin/sh\necho user >> \"$(git rev-parse --show-toplevel)/../hook.log\"\n"
TOOL_HOOK = ("#!/bin/sh\n# another hook manager, in pre-commit's migration mode\n"
             "\"$(dirname \"$0\")/pre-commit.legacy\" \"$@\" || exit $?\n"
             "echo tool >> \"$(git rev-parse --show-toplevel)/../hook.log\"\n")


def counting_python(tmp_path: Path) -> dict[str, str]:
    """GITPIPE_PYTHON as a wrapper that notes each time a hook starts gitpipe."""
    wrapper = tmp_path / "bin/python"
    wrapper.parent.mkdir(exist_ok=True)
    wrapper.write_text(f"#!/bin/sh\necho gitpipe >> {tmp_path / 'hook.log'}\n"
                       f"exec {sys.executable} \"$@\"\n")
    wrapper.chmod(0o755)
    return {"GITPIPE_PYTHON": str(wrapper)}


def git_commit(repo: Repo, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    repo.gen({"README": f"{os.urandom(4).hex()}\n"})
    repo.git("add", "-A")
    full = {**os.environ, **GIT_ENV, "HOME": str(repo.path), **env}
    return subprocess.run(["git", "commit", "-q", "-m", "change"], cwd=repo.path, env=full,
                          capture_output=True, text=True)


def hook_log(tmp_path: Path) -> list[str]:
    log = tmp_path / "hook.log"
    lines = log.read_text().split() if log.exists() else []
    log.unlink(missing_ok=True)
    return lines


def install(repo: Repo, env: dict[str, str], *extra: str) -> None:
    done = gitpipe(repo.path, "hooks", "install", *extra, env=env)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr


def test_hooks_install_where_core_hookspath_says_with_home_expanded(
        repo: Repo, tmp_path: Path) -> None:
    built(repo)
    home = tmp_path / "home"
    home.mkdir()
    repo.git("config", "core.hooksPath", "first-but-overridden")
    repo.git("config", "--add", "core.hooksPath", "~/myhooks")  # the last one wins
    env = {"HOME": str(home), **counting_python(tmp_path)}
    before = snapshot(tmp_path)
    install(repo, env)
    assert sorted(p.name for p in (home / "myhooks").iterdir()) == [
        "post-checkout", "pre-commit", "pre-merge-commit", "pre-push"]
    assert_only_changed(before, snapshot(tmp_path), ["home/myhooks", "repo/.gitpipe/tmp"])
    assert git_commit(repo, env).returncode == 0
    assert hook_log(tmp_path) == ["gitpipe"]  # git ran the hook from there


def user_hook_then_install(repo: Repo, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A built project whose user has a pre-commit hook, then `hooks install`."""
    built(repo)
    env = counting_python(tmp_path)
    hooks = repo.path / ".git/hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / "pre-commit").write_text(USER_HOOK)
    (hooks / "pre-commit").chmod(0o755)
    install(repo, env)
    return hooks, env


def test_a_user_hook_survives_another_tools_install_in_between(
        repo: Repo, tmp_path: Path) -> None:
    hooks, env = user_hook_then_install(repo, tmp_path)
    # Another hook manager installs itself over gitpipe's hook, keeping that one
    # as pre-commit.legacy and calling it.
    os.replace(hooks / "pre-commit", hooks / "pre-commit.legacy")
    (hooks / "pre-commit").write_text(TOOL_HOOK)
    (hooks / "pre-commit").chmod(0o755)
    install(repo, env)
    assert (hooks / "pre-commit.pre-gitpipe").read_text() == USER_HOOK
    assert git_commit(repo, env).returncode == 0
    assert sorted(hook_log(tmp_path)) == ["gitpipe", "tool", "user"]  # each once
    before = snapshot(tmp_path)
    install(repo, env, "--uninstall")
    assert (hooks / "pre-commit").read_text() == TOOL_HOOK
    assert (hooks / "pre-commit.legacy").read_text() == USER_HOOK
    assert not [p for p in hooks.iterdir() if ".pre-gitpipe" in p.name]
    assert_only_changed(before, snapshot(tmp_path),
                        [f"repo/.git/hooks/{name}" for name in (
                            "pre-commit", "pre-commit.legacy", "pre-commit.pre-gitpipe",
                            "pre-commit.pre-gitpipe.2", "pre-merge-commit", "post-checkout",
                            "pre-push")] + ["repo/.gitpipe/tmp"])
    assert git_commit(repo, env).returncode == 0
    assert sorted(hook_log(tmp_path)) == ["tool", "user"]


def test_a_user_hook_survives_an_overwriting_tool_and_install_twice(
        repo: Repo, tmp_path: Path) -> None:
    hooks, env = user_hook_then_install(repo, tmp_path)
    install(repo, env)
    (hooks / "pre-commit").write_text("#!/bin/sh\necho overwrote >> "
                                      f"{tmp_path / 'hook.log'}\n")
    install(repo, env)
    assert (hooks / "pre-commit.pre-gitpipe").read_text() == USER_HOOK
    assert git_commit(repo, env).returncode == 0
    assert hook_log(tmp_path) == ["overwrote", "gitpipe"]
    install(repo, env, "--uninstall")
    # The user's hook is still on disk, byte for byte; the tool's is back in place.
    assert (hooks / "pre-commit.pre-gitpipe").read_text() == USER_HOOK
    assert "overwrote" in (hooks / "pre-commit").read_text()


def test_install_twice_then_uninstall_gives_the_user_hook_back_and_it_runs(
        repo: Repo, tmp_path: Path) -> None:
    built(repo)
    env = counting_python(tmp_path)
    hooks = repo.path / ".git/hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / "pre-push").write_text(USER_HOOK)
    (hooks / "pre-push").chmod(0o750)
    before = snapshot(tmp_path)
    for extra in ((), (), ("--uninstall",)):
        install(repo, env, *extra)
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe/tmp"])
    done = subprocess.run([str(hooks / "pre-push")], cwd=repo.path, capture_output=True)
    assert done.returncode == 0 and hook_log(tmp_path) == ["user"]


def test_a_committed_dangling_symlink_hook_is_never_written_through(
        repo: Repo, tmp_path: Path) -> None:
    built(repo)
    (repo.path / ".githooks").mkdir()
    (repo.path / ".githooks/pre-commit").symlink_to("../../planted-by-clone")
    repo.commit("hooks folder")
    repo.git("config", "core.hooksPath", ".githooks")  # the user's own choice
    before = snapshot(tmp_path)
    install(repo, counting_python(tmp_path))
    assert not os.path.lexists(tmp_path / "planted-by-clone")
    assert (repo.path / ".githooks/pre-commit.pre-gitpipe").is_symlink()
    assert_only_changed(before, snapshot(tmp_path), ["repo/.githooks", "repo/.gitpipe/tmp",
                                                     "bin"])


# -- trees thousands of levels deep -------------------------------------------------

# Deeper than Python's recursion limit (1,000), within Linux's PATH_MAX (4,096
# bytes) for the whole path: beyond that the kernel refuses the names to every
# tool, git and the shell included.
DEPTH = 1_200
MAKE_DEEP = ("import os\n"
             f"for _ in range({DEPTH}):\n"
             "    os.mkdir('d'); os.chdir('d')\n"
             "open('bottom.txt', 'w').write('deep\\n')\n")


def deepest(root: Path) -> Path:
    return root.joinpath(*["d"] * DEPTH) / "bottom.txt"


@pytest.fixture
def deep_cleanup(tmp_path: Path) -> Iterator[None]:
    """Remove the deep trees a test leaves: pytest's own clean-up of old temp
    folders uses shutil.rmtree, which recurses once per level before Python 3.12."""
    yield
    from gitpipe.core.trees import remove_tree

    for top in (tmp_path / "repo/out", tmp_path / "clone/out", tmp_path / "top",
                tmp_path / "repo/.gitpipe/cache/files/xxh3/zz"):
        if top.is_dir() and not top.is_symlink():
            remove_tree(top)


@pytest.mark.usefixtures("deep_cleanup")
def test_an_out_thousands_of_levels_deep_is_cached_removed_and_checked_out(
        repo: Repo, tmp_path: Path) -> None:
    repo.gen({"make_deep.py": MAKE_DEEP})
    repo.spec({"deep": {"cmd": f"mkdir out && cd out && {sys.executable} ../make_deep.py",
                        "deps": ["make_deep.py"], "outs": ["out/"]}})
    repo.run("init", check=True)
    repo.run("remote", "add", "-d", "store", "../store", check=True)
    for command in (["repro"], ["repro", "-f"], ["push"]):  # -f removes the deep out first
        done = repo.run(*command)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    repo.commit("deep")
    assert deepest(repo.path / "out").read_text() == "deep\n"
    deepest(repo.path / "out").write_text("edited by hand\n")
    before = snapshot(tmp_path)
    done = repo.run("checkout", "--force") if "--force" in repo.run(
        "checkout", "--help").stdout else repo.run("checkout")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert deepest(repo.path / "out").read_text() == "deep\n"
    assert_only_changed(before, snapshot(tmp_path), ["repo/out", "repo/.gitpipe"])
    clone = repo.clone_to(tmp_path / "clone")
    done = gitpipe(clone.path, "pull")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert deepest(clone.path / "out").read_text() == "deep\n"


@pytest.mark.usefixtures("deep_cleanup")
def test_remove_tree_and_make_dirs_need_no_recursion(tmp_path: Path) -> None:
    from gitpipe.core.trees import make_dirs, remove_tree

    bottom = tmp_path.joinpath("top", *["d"] * DEPTH)
    make_dirs(bottom)
    (bottom / "f").write_text("x")
    (bottom / "f").chmod(0o400)
    bottom.chmod(0o500)  # read-only, as cache folders can be
    (tmp_path / "top/link").symlink_to(tmp_path / "outside")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside/keep").write_text("kept\n")
    remove_tree(tmp_path / "top")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outside"]
    assert (tmp_path / "outside/keep").read_text() == "kept\n"


@pytest.mark.usefixtures("deep_cleanup")
def test_a_deep_tree_planted_in_the_cache_does_not_crash_fsck(repo: Repo, tmp_path: Path) -> None:
    from gitpipe.core.trees import make_dirs

    built(repo)
    make_dirs(repo.path.joinpath(".gitpipe/cache/files/xxh3/zz", *["d"] * DEPTH))
    before = snapshot(tmp_path)
    done = repo.run("fsck")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "RecursionError" not in done.stderr
    assert_only_changed(before, snapshot(tmp_path), ["repo/.gitpipe/tmp"])

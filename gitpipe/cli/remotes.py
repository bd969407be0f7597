"""CLI commands for remotes: `gitpipe remote add`, `list`, `remove`, `modify`
and `default`.

Registered on the `cli` group when `gitpipe.cli.main` imports this module.
"""

from __future__ import annotations

import os
from typing import Any

import click

from gitpipe.cli import complete
from gitpipe.cli.group import cli, project_of


@cli.group()
def remote() -> None:
    """Manage remotes (.gitpipe/config.yaml)."""


def _gitpipe_dir(ctx: click.Context) -> Any:
    return project_of(ctx.find_root()).gitpipe_dir


def _placed_url(ctx: click.Context, name: str, url: str, local: bool) -> str:
    """A URL as the config keeps it: a relative folder typed in a subfolder is
    rewritten relative to the project root, where every command resolves it. A
    folder inside the repository is refused for the committed file, which a
    clone obeys."""
    from pathlib import Path

    from gitpipe.pipeline.config import CONFIG_FILE, RemoteSettings
    from gitpipe.storage.remote import check_outside, local_folder, resolve_url
    from gitpipe.storage.urls import protocol_problem

    problem = protocol_problem(url)
    if problem is not None:
        from gitpipe.core.errors import BadInputError

        raise BadInputError(f"remote {name!r}: {problem}",
                            hint="a remote is a folder's path or an fsspec URL such as "
                            "s3://bucket/path")
    project = project_of(ctx.find_root())
    folder = local_folder(url)
    if folder is not None and not os.path.isabs(os.path.expanduser(folder)):
        typed_in = Path(ctx.find_root().obj["dir"]).resolve()
        relative = os.path.relpath(typed_in / folder, project.root)
        url = url[:len(url) - len(folder)] + relative
    if not local:
        settings = RemoteSettings(name, url, {}, f".gitpipe/{CONFIG_FILE}")
        check_outside(settings, resolve_url(url, project.root), project.repository_places())
    return url


def _warn(warning: str | None) -> None:
    if warning:
        click.echo(f"warning: {warning}", err=True)


@remote.command("add")
@click.argument("name")
@click.argument("url")
@click.option("-d", "--default", "make_default", is_flag=True, help="Make it the default.")
@click.option("--local", is_flag=True, help="Write config.local.yaml (not committed).")
@click.pass_context
def remote_add(ctx: click.Context, name: str, url: str, make_default: bool,
               local: bool) -> None:
    """Add a remote: any fsspec URL, or a plain path for a local folder (relative
    to the project root)."""
    from gitpipe.core.errors import BadInputError
    from gitpipe.pipeline.config import edit_config
    from gitpipe.storage.remote import masked_url

    def edit(raw: dict[str, Any]) -> None:
        remotes = raw.setdefault("remotes", {}) or {}
        if name in remotes:
            raise BadInputError(f"remote {name!r} exists", hint=_exists_hint(name, make_default))
        remotes[name] = {"url": url}
        raw["remotes"] = remotes
        if make_default:
            raw["core"] = {**(raw.get("core") or {}), "remote": name}
    if name not in (project_of(ctx.find_root()).config.raw.get("remotes") or {}):
        url = _placed_url(ctx, name, url, local)
    _warn(edit_config(_gitpipe_dir(ctx), edit, local))
    if make_default and not local:
        _warn(_outweighed_default(_gitpipe_dir(ctx), name))
    click.echo(f"added remote {name!r} -> {masked_url(url)}"
               + (" (default)" if make_default else ""))
    _after_adding(ctx, url, local)


def _exists_hint(name: str, make_default: bool) -> str:
    """What to run instead of adding a remote again: DVC's `remote default`
    where the point was the default, `modify` for its URL."""
    url = f"'gitpipe remote modify {name} url URL' changes its URL"
    if make_default:
        return f"'gitpipe remote default {name}' makes it the default; {url}"
    return url


def _after_adding(ctx: click.Context, url: str, local: bool) -> None:
    """What a new remote's user should know: a folder that does not exist yet
    (a typo here would only show as a new folder after a push), and that a
    clone uses the remote once config.yaml is committed."""
    from gitpipe.storage.remote import local_folder

    folder = local_folder(url)
    root = project_of(ctx.find_root()).root
    if folder is not None and not (root / os.path.expanduser(folder)).is_dir():
        from gitpipe.trust.plaintext import quoted

        click.echo(f"note: folder {quoted(folder)} does not exist yet: 'gitpipe push' "
                   "creates it", err=True)
    if not local:
        click.echo("hint: commit .gitpipe/config.yaml so that clones use the remote too",
                   err=True)


@remote.command("list")
@click.pass_context
def remote_list(ctx: click.Context) -> None:
    """List remotes; credentials (in options or inside URLs) are shown as ****."""
    from gitpipe.pipeline.config import default_remote
    from gitpipe.storage.remote import masked_options, masked_url
    from gitpipe.trust.checks import terminal_text

    config = project_of(ctx.find_root()).config
    default, implied = default_remote(config)
    said = " (default: the only remote)" if implied else " (default)"
    for name, body in sorted((config.raw.get("remotes") or {}).items()):
        options = masked_options({k: v for k, v in body.items() if k != "url"})
        # An option's value may come from git, and hold any text (a newline,
        # escapes): shown as a terminal shows it plainly, one line a remote.
        extra = " ".join(terminal_text(f"{k}={v}") for k, v in sorted(options.items()))
        mark = said if name == default else ""
        click.echo(f"{name}\t{masked_url(str(body.get('url')))}{mark}"
                   + (f"\t{extra}" if extra else ""))


@remote.command("remove")
@click.argument("name", shell_complete=complete.remotes)
@click.option("--local", is_flag=True, help="Remove it from config.local.yaml.")
@click.pass_context
def remote_remove(ctx: click.Context, name: str, local: bool) -> None:
    """Remove a remote."""
    from gitpipe.core.errors import BadInputError
    from gitpipe.pipeline.config import edit_config

    def edit(raw: dict[str, Any]) -> None:
        if name not in (raw.get("remotes") or {}):
            raise BadInputError(f"unknown remote {name!r}", hint="'gitpipe remote list' shows "
                                "the remotes; --local removes one of config.local.yaml")
        del raw["remotes"][name]
        if (raw.get("core") or {}).get("remote") == name:
            del raw["core"]["remote"]
    _warn(edit_config(_gitpipe_dir(ctx), edit, local))
    click.echo(f"removed remote {name!r}")
    _drop_dangling_default(_gitpipe_dir(ctx), name, not local)


def _drop_dangling_default(gitpipe_dir: Any, name: str, local: bool) -> None:
    """Clear the other file's `core.remote` where it names the remote just
    removed and neither file declares it any more, as DVC clears it at every
    level: push and pull would go on choosing a remote that is gone."""
    from gitpipe.pipeline.config import CONFIG_FILE, LOCAL_CONFIG_FILE, edit_config, load_config

    raw = load_config(gitpipe_dir).raw
    if name in (raw.get("remotes") or {}) or (raw.get("core") or {}).get("remote") != name:
        return

    def edit(other: dict[str, Any]) -> None:
        if (other.get("core") or {}).get("remote") == name:
            del other["core"]["remote"]
    _warn(edit_config(gitpipe_dir, edit, local))
    source = f".gitpipe/{LOCAL_CONFIG_FILE if local else CONFIG_FILE}"
    click.echo(f"note: {source} named it the default; that line is removed", err=True)


def _refuse_unknown(ctx: click.Context, name: str) -> None:
    """`modify` changes a remote either file declares: a mistyped name would
    add a second remote and leave the meant one as it was."""
    from gitpipe.core.errors import BadInputError, did_you_mean

    try:
        remotes = sorted(project_of(ctx.find_root()).config.raw.get("remotes") or {})
    except BadInputError:
        return  # a config refused as it is (a remote without url): the edit may mend it
    if name not in remotes:
        near = did_you_mean(name, remotes)
        raise BadInputError(f"unknown remote {name!r}" + (f" ({near})" if near else ""),
                            hint=f"'gitpipe remote add {name} URL' adds it; 'gitpipe remote "
                            "list' shows the remotes")


@remote.command("modify")
@click.argument("name", shell_complete=complete.remotes)
@click.argument("key")
@click.argument("value", required=False)
@click.option("--unset", is_flag=True, help="Remove the option.")
@click.option("--local", is_flag=True, help="Write config.local.yaml (for secrets).")
@click.pass_context
def remote_modify(ctx: click.Context, name: str, key: str, value: str | None, unset: bool,
                  local: bool) -> None:
    """Set an fsspec storage option (endpoint_url, profile, client_kwargs, …) of a remote."""
    from gitpipe.core.errors import BadInputError
    from gitpipe.core.yamlio import dump_inline, parse_yaml
    from gitpipe.pipeline.config import edit_config
    from gitpipe.storage.remote import masked_options

    if value is None and not unset:
        raise BadInputError("give a VALUE, or --unset")
    _refuse_unknown(ctx, name)
    if key == "default":
        # Would be written as a storage option, handed to the filesystem, and
        # leave the default remote as it was.
        raise BadInputError("'default' is not an option of a remote",
                            hint=f"'gitpipe remote default {name}' makes it the default")

    parsed = None if unset else parse_yaml(str(value), "value", secret=True)
    if key == "url" and isinstance(parsed, str):
        parsed = _placed_url(ctx, name, parsed, local)

    def edit(raw: dict[str, Any]) -> None:
        remotes = raw.setdefault("remotes", {}) or {}
        raw["remotes"] = remotes
        body = remotes.setdefault(name, {})
        if unset:
            body.pop(key, None)
        else:
            body[key] = parsed
    _warn(edit_config(_gitpipe_dir(ctx), edit, local))
    shown = masked_options({key: parsed}).get(key) if not unset else None
    # As config.yaml now holds it: a list, mapping, boolean or null in YAML's words.
    said = shown if isinstance(shown, str) else dump_inline(shown)
    click.echo(f"remote {name!r}: {key} " + ("unset" if unset else f"= {said}"))


@remote.command("default")
@click.argument("name", required=False, shell_complete=complete.remotes)
@click.option("--unset", is_flag=True, help="Leave no remote the default.")
@click.option("--local", is_flag=True, help="Write config.local.yaml (not committed).")
@click.pass_context
def remote_default(ctx: click.Context, name: str | None, unset: bool, local: bool) -> None:
    """Make remote NAME the default (push, pull, fetch without -r); without
    NAME, print the default."""
    from gitpipe.core.errors import BadInputError
    from gitpipe.pipeline.config import default_remote, edit_config, refuse_unknown_default

    if name is None and not unset:
        config = project_of(ctx.find_root()).config
        refuse_unknown_default(config)
        chosen, implied = default_remote(config)
        if implied:
            click.echo("note: none is set; the only remote is used", err=True)
        if chosen is None:
            raise BadInputError("no default remote", hint=_how_to_set_one(config))
        click.echo(str(chosen))
        return
    if name is not None and unset:
        raise BadInputError("give NAME or --unset, not both")
    if name is not None:
        _refuse_unknown(ctx, name)

    def edit(raw: dict[str, Any]) -> None:
        core = dict(raw.get("core") or {})
        if name is None and local:
            # null, not absent: the committed file's default would show through.
            core["remote"] = None
        elif name is None:
            core.pop("remote", None)
        else:
            core["remote"] = name
        raw["core"] = core
    _warn(edit_config(_gitpipe_dir(ctx), edit, local))
    if not local:
        _warn(_outweighed_default(_gitpipe_dir(ctx), name))
    click.echo("no default remote" if name is None else f"default remote: {name!r}")


def _how_to_set_one(config: Any) -> str:
    """The command that gives a default where none is (config.why_no_default)."""
    from gitpipe.pipeline.config import NO_REMOTES, SET_TO_NONE, why_no_default

    why = why_no_default(config)
    if why == NO_REMOTES:
        return "'gitpipe remote add -d NAME URL' adds a remote and makes it the default"
    if why == SET_TO_NONE:
        return ("'gitpipe remote default --local NAME' sets one (core.remote is set to none, "
                "and .gitpipe/config.local.yaml outweighs .gitpipe/config.yaml)")
    return "'gitpipe remote default NAME' sets one"


def _outweighed_default(gitpipe_dir: Any, name: str | None) -> str | None:
    """Why the committed file's new default is not the one that holds: the
    user's config.local.yaml names another (or none), and outweighs it."""
    from gitpipe.pipeline.config import CONFIG_FILE, LOCAL_CONFIG_FILE, load_config

    effective = (load_config(gitpipe_dir).raw.get("core") or {}).get("remote")
    if effective == name:
        return None
    said = "null (no default)" if effective is None else repr(effective)
    return (f".gitpipe/{LOCAL_CONFIG_FILE} sets core.remote to {said}, which outweighs "
            f".gitpipe/{CONFIG_FILE}: 'gitpipe remote default --local "
            f"{'--unset' if name is None else name}' sets it there too")

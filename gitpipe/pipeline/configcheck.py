"""The rules of `.gitpipe/config.yaml` and `config.local.yaml`, checked in one
place each time the config is read: every command sees the same config and
refuses the same mistakes (`validate` as `repro`, `status` as `push`).

Each file is checked on its own, so an error names the file that holds the
mistake; the merged config is checked for what only both files together
say (a remote's URL may come from either).
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Callable
from typing import Any, NoReturn

from gitpipe.core.errors import BadInputError
from gitpipe.trust.plaintext import odd_character

CACHE_TYPES = ("reflink", "copy", "hardlink", "symlink")

Check = Callable[[Any], str | None]  # a value's problem, or None


def _whole(least: int) -> Check:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            return f"must be a whole number of at least {least}"
        return None
    return check


def _seconds(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value) or value <= 0:
        return "must be a finite number of seconds above 0"
    return None


def _text(value: Any) -> str | None:
    return None if isinstance(value, str) and value else "must be a non-empty string"


def _remote_name(value: Any) -> str | None:
    """The default remote's name: printed as it is (`remote default`), so
    plain text as the remotes' own names are."""
    problem = _text(value)
    odd = None if problem else odd_character(value)
    return problem or (f"must name a remote in plain text (it holds {odd})" if odd else None)


def _texts(value: Any) -> str | None:
    """A string, or a list of strings."""
    if isinstance(value, str) or (isinstance(value, list) and all(
            isinstance(item, str) for item in value)):
        return None
    return "must be a string or a list of strings"


def _mapping(value: Any) -> str | None:
    return None if isinstance(value, dict) else "must be a mapping"


# A container's environment variable name, as Kubernetes takes one (it allows
# `spring.profiles.active` and `JAVA-OPTS`); `\Z`: `$` matches before a newline.
_POD_ENV_NAME = re.compile(r"[-._A-Za-z][-._A-Za-z0-9]*\Z")


def _flag(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _one_of(choices: tuple[str, ...]) -> Check:
    def check(value: Any) -> str | None:
        return None if value in choices else f"must be one of {', '.join(choices)}"
    return check


def _or_null(check: Check) -> Check:
    def either(value: Any) -> str | None:
        return None if value is None else check(value)
    return either


def _hint(key: str) -> str:
    """What unblocks a bad value of `key`: an example where one helps, else
    the way back to the default."""
    examples = {
        "core.jobs": "how many stages run at once, e.g. 'jobs: 4'; null: one per CPU",
        "core.lock_wait": "seconds a second gitpipe waits for the ProjectLock, e.g. "
                          "'lock_wait: 3'",
        "cache.type": "reflink (the default, falls back to copy) suits most file systems",
    }
    return examples.get(key, f"remove {key.rpartition('.')[2]!r} to take its default, or "
                             "give a value of that kind")


SECTIONS: dict[str, dict[str, Check]] = {
    "core": {"jobs": _or_null(_whole(1)), "lock_wait": _seconds,
             "remote": _or_null(_remote_name), "log_retention": _whole(1), "autostage": _flag},
    "cache": {"type": _one_of(CACHE_TYPES)},
    "kubernetes": {
        "namespace": _text, "image": _or_null(_text), "context": _or_null(_text),
        "kubeconfig": _or_null(_text), "image_pull_secrets": _or_null(_texts),
        "ttl": _whole(0), "command": _or_null(_texts), "env": _or_null(_mapping),
        "env_from_secret": _or_null(_texts), "heartbeat_timeout": _seconds,
        "pending_timeout": _seconds, "image_pull_grace": _seconds,
        "watch_timeout": _whole(1),
    },
}
OPEN_SECTIONS = ("remotes", "pools")  # their keys are names the user chooses


def check_file(data: dict[str, Any], source: str) -> None:
    """Refuse what `data` (one config file, parsed) gets wrong: an unknown
    section or key, a value of the wrong kind or range, a remote that is not
    a mapping or whose URL does not parse, a pool size below 1."""
    known = (*SECTIONS, *OPEN_SECTIONS)
    for section, body in data.items():
        if section not in known:
            raise BadInputError(f"{source}: unknown section {section!r}",
                                hint=_known_hint(str(section), known))
        if body is None:
            continue  # `remotes:` with nothing under it
        if not isinstance(body, dict):
            _refuse(source, section, "must be a mapping",
                    f"write '{section}:' alone on its line, its keys indented below it")
        if section in SECTIONS:
            _check_section(section, body, source)
    _check_pod_env((data.get("kubernetes") or {}).get("env") or {}, source)
    _check_remotes(data.get("remotes") or {}, source)
    for name, size in (data.get("pools") or {}).items():
        problem = "is empty" if not str(name).strip() else _odd_text(str(name)) or \
            _shell_problem(str(name))
        if problem:
            _refuse(source, f"pools.{name!r}", f"is not a name: it {problem}",
                    "name pools with letters, digits, '-' and '_'")
        problem = _whole(1)(size)
        if problem:
            _refuse(source, f"pools.{name}", f"{problem}, not {size!r}",
                    "a pool's size is how many of its tasks run at once, e.g. 'db: 4'")


def _check_section(section: str, body: dict[str, Any], source: str) -> None:
    checks = SECTIONS[section]
    for key, value in body.items():
        if key not in checks:
            raise BadInputError(f"{source}: {section}: unknown key {key!r}",
                                hint=_known_hint(str(key), checks))
        problem = checks[key](value)
        if problem:
            _refuse(source, f"{section}.{key}", f"{problem}, not {value!r}",
                    _hint(f"{section}.{key}"))


def _check_pod_env(env: dict[Any, Any], source: str) -> None:
    """Each `kubernetes.env` name is one a pod takes (they are named in warnings)."""
    for name in env:
        if not _POD_ENV_NAME.match(str(name)):
            _refuse(source, f"kubernetes.env.{name!r}", "is not an environment variable's "
                    "name", "Kubernetes names them with letters, digits, '_', '-' and '.', "
                    "not starting with a digit")


def _check_remotes(remotes: dict[str, Any], source: str) -> None:
    for name, body in remotes.items():
        problem = "is empty" if not str(name).strip() else _odd_text(str(name)) or \
            _shell_problem(str(name))
        if problem:
            _refuse(source, f"remotes.{name!r}", f"is not a name: it {problem}",
                    "name remotes with ASCII letters, digits, '.', '-' and '_'")
        if not isinstance(body, dict):
            _refuse(source, f"remotes.{name}", "must be a mapping of url and options",
                    f"write '{name}:' alone on its line and 'url: URL' indented below it")
        if "url" in body:
            problem = _url_problem(body["url"])
            if problem:
                _refuse(source, f"remotes.{name}.url", problem, _URL_HINT)
        option = _odd_option_name(body)
        if option is not None:
            _refuse(source, f"remotes.{name}", f"has an option named {option!r}, which is "
                    f"no storage option's name (it holds {odd_character(option)})",
                    "remove it; storage options are named like endpoint_url or client_kwargs")
        _check_run_cache_keys(str(name), body, source)


def _shell_problem(name: str) -> str | None:
    """Why a remote's name would not read as itself in a command a hint
    prints (`gitpipe remote modify --local NAME …`, pasted into a shell), or
    None: a committed name is the clone's text, and `x;touch y` ran."""
    if name.startswith("-"):
        return "starts with '-', which a command reads as an option"
    if shlex.quote(name) != name:
        return "holds characters a shell reads as more than a word (quotes, spaces, ';', '$', …)"
    return None


_URL_HINT = ("give an fsspec URL (s3://bucket/prefix, …) or a folder's path as plain text: "
             "retype what was copied from a page or a document")


def _odd_option_name(options: dict[Any, Any]) -> str | None:
    """The first name, at any depth, a terminal would not show as the text it
    is (a newline, an escape, a bidi control): option names are said in
    warnings, and no storage option is named so."""
    for name, value in options.items():
        if odd_character(str(name)):
            return str(name)
        deeper = _odd_option_name(value) if isinstance(value, dict) else None
        if deeper is not None:
            return deeper
    return None


# A remote's keys that gitpipe reads itself (the run-cache's trust and scopes);
# every other key is an fsspec storage option.
RUN_CACHE_KEYS = ("trust", "scope_trust", "scopes", "signing_key")


def storage_options(body: dict[str, Any]) -> dict[str, Any]:
    """A remote's fsspec storage options: its keys but the URL and RUN_CACHE_KEYS."""
    return {k: v for k, v in body.items() if k != "url" and k not in RUN_CACHE_KEYS}
_TRUST_HINT = ("list the keys whose run-cache entries are restored, e.g. 'trust: "
               "[{ssh: \"ssh-ed25519 AAAA… ci@main\"}, {hmac_env: GITPIPE_CACHE_KEY}]', or "
               "'trust: any' to restore every entry (docs/explanation/security.md)")


def _check_run_cache_keys(name: str, body: dict[str, Any], source: str) -> None:
    if not any(key in body for key in RUN_CACHE_KEYS):
        return
    from gitpipe.trust.signedruns import scope_problem

    for key in ("trust", "scope_trust"):
        if key in body:
            problem = trust_problem(body[key])
            if problem:
                _refuse(source, f"remotes.{name}.{key}", problem, _TRUST_HINT)
    scopes = body.get("scopes")
    if scopes is not None:
        if not isinstance(scopes, list):
            _refuse(source, f"remotes.{name}.scopes", "must be a list of scope names",
                    "e.g. 'scopes: [nightly]': the named scopes read besides main")
        for scope in scopes:
            problem = scope_problem(scope)
            if problem:
                _refuse(source, f"remotes.{name}.scopes", f"{scope!r} {problem}",
                        "name scopes like pr-123 or nightly")
    if "signing_key" in body and _text(body["signing_key"]):
        _refuse(source, f"remotes.{name}.signing_key", "must be the path of an SSH private key",
                "e.g. 'signing_key: ~/.ssh/gitpipe_ci' in config.local.yaml")


def trust_problem(value: Any) -> str | None:
    """What is wrong with a remote's `trust:` (or `scope_trust:`): `any`, or a
    list of `{ssh: PUBLIC KEY}` and `{hmac_env: VARIABLE}` mappings."""
    if value == "any":
        return None
    if not isinstance(value, list) or not value:
        return f"must be 'any' or a non-empty list of keys, not {value!r}"
    for item in value:
        if not isinstance(item, dict) or len(item) != 1 or \
                next(iter(item)) not in ("ssh", "hmac_env"):
            return f"has {item!r}: each key is one mapping, {{ssh: PUBLIC KEY}} or " \
                   "{hmac_env: VARIABLE}"
        (kind, text), = item.items()
        problem = _ssh_key_problem(text) if kind == "ssh" else _secret_variable_problem(text)
        if problem:
            return problem
    return None


def _ssh_key_problem(text: Any) -> str | None:
    parts = text.split() if isinstance(text, str) else []
    if len(parts) < 2 or not parts[0].startswith(("ssh-", "ecdsa-", "sk-")) or \
            any(ord(char) < 32 for char in text):
        return f"ssh: {text!r} is not a public key line ('ssh-ed25519 AAAA… comment')"
    return None


def _secret_variable_problem(text: Any) -> str | None:
    from gitpipe.core.secretnames import secret_name

    if not isinstance(text, str) or not text.replace("_", "a").isalnum() or \
            not text.isascii() or text[0].isdigit():
        return f"hmac_env: {text!r} is not the name of an environment variable"
    if not text.startswith("GITPIPE_") or not secret_name(text):
        # The prefix keeps a committed config from choosing another tool's secret
        # (a cloud key, a CI token) as the one gitpipe signs with.
        return (f"hmac_env: {text!r} must start with GITPIPE_ and end in _KEY, _SECRET, "
                "_TOKEN or _PASSWORD, so that it is a secret made for gitpipe and never "
                "recorded")
    return None


def _url_problem(url: Any) -> str | None:
    if not isinstance(url, str) or not url.strip():
        return f"must be a URL or a folder's path, not {url!r}"
    problem = _odd_text(url)
    if problem:
        return f"{problem}: {url!r}"
    from urllib.parse import urlsplit  # only when a remote is configured

    try:
        urlsplit(url)
    except ValueError as exc:
        return f"does not parse ({exc}): {url!r}"
    return None


def _odd_text(text: str) -> str | None:
    """Why a remote's name or URL is not the plain text it reads as, or None."""
    odd = odd_character(text)
    return f"holds {odd}" if odd else None


def check_merged(raw: dict[str, Any], source_of: Callable[[str], str]) -> None:
    """What both files together must say: every remote has a URL.
    `source_of(name)`: the file that declares the remote."""
    for name, body in (raw.get("remotes") or {}).items():
        if not isinstance(body, dict) or "url" not in body:
            _refuse(source_of(str(name)), f"remotes.{name}", "has no url",
                    f"gitpipe remote modify {name} url URL")


def jobs_from_environment(text: str) -> int:
    """GITPIPE_JOBS, which overrides core.jobs: a whole number of at least 1."""
    try:
        jobs = int(text)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise BadInputError(f"GITPIPE_JOBS must be a whole number of at least 1, not {text!r}",
                            hint="unset it to use core.jobs")
    return jobs


def _known_hint(word: str, known: Any) -> str:
    from gitpipe.core.errors import did_you_mean

    names = sorted(str(name) for name in known)
    near = did_you_mean(word, names)
    return (f"{near} " if near else "") + f"(known: {', '.join(names)})"


def _refuse(source: str, key: str, problem: str, hint: str) -> NoReturn:
    raise BadInputError(f"{source}: {key} {problem}", hint=hint)

"""One stage's mapping from `gitpipe.yaml` → a Stage (pipeline/model.py), every problem
reported into a Collector as 'file:line: stage 'x': message'."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from gitpipe.core.errors import did_you_mean
from gitpipe.core.yamlio import LineDict, LineList, line_of, plain
from gitpipe.pipeline import registry
from gitpipe.pipeline.durations import LONG_DURATION, LongDuration, parse_duration
from gitpipe.pipeline.dvcfields import stage_field_hint
from gitpipe.pipeline.itemcheck import range_problem, sensor_problem
from gitpipe.pipeline.items import ItemSpec
from gitpipe.pipeline.model import DEFAULT_PARAMS_FILE, KubeSpec, Out, ParamRef, Stage, WaitFor
from gitpipe.pipeline.partitions import FREQS, PartitionSpec, template_names, variables
from gitpipe.pipeline.pyroots import python_roots
from gitpipe.pipeline.specpaths import normalize_path
from gitpipe.trust.checks import ENV_NAME, printable, terminal_text

STAGE_FIELDS = {
    "cmd", "deps", "params", "outs", "metrics", "wdir", "env", "retries", "timeout",
    "always_changed", "frozen", "persist", "desc", "partition", "concurrency", "wait_for",
    "pool", "executor", "resources", "image", "node_selector", "tolerations",
    "service_account", "env_from_secret", "deterministic",
}
# Fields the spec reserves that this version does not implement yet: refused
# with a clear message rather than silently ignored.
PLANNED_FIELDS: set[str] = set()


class Collector:
    """Accumulates problems as 'file:line: stage 'x': message', a line each."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []

    def add(self, line: int | None, message: str, stage: str | None = None) -> None:
        where = f"{self.source}:{line}" if line else self.source
        prefix = f"stage {stage!r}: " if stage else ""
        # One line each, as a terminal shows it plainly: a message may quote the
        # spec's own text (a `${…}` name runs to its `}`, across line breaks).
        self.problems.append(terminal_text(f"{where}: {prefix}{message}"))


def _options_problem(noun: str, entry: dict[Any, Any]) -> str:
    """Why an out written as DVC writes one with options (`- model.pkl:
    {persist: true}`) is refused rather than left out of the stage."""
    path, options = next(iter(entry.items()), ("", None))
    # A clone's names, any of them long: each shown cut (trust/checks.py).
    named = ", ".join(printable(str(name)) for name in options) \
        if isinstance(options, dict) else ""
    return (f"{noun} {path!r} is written with options{f' ({named})' if named else ''}: "
            f"{noun}s here are plain paths (every out is cached; 'persist: true' goes on "
            "the stage; docs/howto/dvc.md)")


class StageParser:
    """Turns one stage's mapping into a Stage, reporting into a Collector."""

    def __init__(self, name: str, body: LineDict, errors: Collector,
                 line: int | None = None, items: ItemSpec | None = None) -> None:
        self.name = name
        self.body = body
        self.errors = errors
        self.line = line if line is not None else getattr(body, "line", None)
        self.items = items
        self.wdir = "."

    def problem(self, key: Any, message: str, container: Any = None) -> None:
        line = line_of(container if container is not None else self.body, key)
        self.errors.add(line, message, self.name)

    def parse(self) -> Stage | None:
        before = len(self.errors.problems)
        self._check_fields()
        cmd = self._cmd()
        wdir = self.wdir = self._wdir()
        stage = Stage(
            name=self.name,
            cmd=cmd,
            deps=tuple(path for path, _ in self._paths("deps", wdir)),
            params=tuple(self._params(wdir)),
            outs=tuple(self._outs(wdir)),
            wdir=wdir,
            env=self._env(),
            retries=self._retries(),
            timeout=self._timeout(),
            always_changed=self._flag("always_changed"),
            frozen=self._flag("frozen"),
            persist=self._flag("persist"),
            partition=self._partition(),
            concurrency=self._positive("concurrency"),
            wait_for=self._wait_for(),
            pool=self._pool(),
            executor=self._executor(),
            k8s=self._kube(),
            line=self.line,
            python=python_roots(self._list("deps"), normalize_path, wdir, self.problem),
            deterministic=self._flag("deterministic", default=True),
        )
        return stage if len(self.errors.problems) == before else None

    def _check_fields(self) -> None:
        for key in self.body:
            if key in STAGE_FIELDS:
                continue
            if key in PLANNED_FIELDS:
                self.problem(key, f"field {key!r} is not supported by this version of gitpipe")
                continue
            self.problem(key, f"unknown field {key!r}{stage_field_hint(str(key), STAGE_FIELDS)}")

    def _cmd(self) -> str:
        cmd = self.body.get("cmd")
        if cmd is None:
            self.errors.add(self.line, "missing 'cmd'", self.name)
            return ""
        if isinstance(cmd, list) and all(isinstance(part, str) for part in cmd):
            cmd = " && ".join(cmd)
        if not isinstance(cmd, str) or not cmd.strip() or "\0" in cmd:
            self.problem("cmd", "'cmd' must be a non-empty string (a NUL ends it for the OS)")
            return ""
        return cmd

    def _wdir(self) -> str:
        wdir = self.body.get("wdir", ".")
        if wdir in (".", "./"):
            return "."
        try:
            return normalize_path(str(wdir), ".")
        except ValueError as exc:
            self.problem("wdir", f"wdir {wdir!r}: {exc}")
            return "."

    def _list(self, key: str) -> list[Any]:
        value = self.body.get(key, [])
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list):
            self.problem(key, f"{key!r} must be a list")
            return []
        return value

    def _paths(self, key: str, wdir: str) -> list[tuple[str, bool]]:
        """(normalized path, written-as-directory) for each entry of `key`."""
        values = self._list(key)
        noun = {"deps": "dependency", "outs": "out", "metrics": "metric"}[key]
        paths = []
        for index, raw in enumerate(values):
            where: Any = (index, values) if isinstance(values, LineList) else (key, None)
            if isinstance(raw, dict) and key != "deps":
                self.problem(where[0], _options_problem(noun, raw), where[1])
                continue
            try:
                if not isinstance(raw, dict):  # else a `python:` dep (pipeline/pyroots.py)
                    paths.append((normalize_path(raw, wdir, key != "deps"),
                                  str(raw).endswith("/")))
            except (ValueError, TypeError) as exc:
                self.problem(where[0], f"{noun} {raw!r}: {exc}", where[1])
        return paths

    def _outs(self, wdir: str) -> list[Out]:
        outs = [Out(path, is_dir) for path, is_dir in self._paths("outs", wdir)]
        metrics = [Out(path, False, cache=False) for path, _ in self._paths("metrics", wdir)]
        return outs + metrics

    def _params(self, wdir: str) -> list[ParamRef]:
        refs: list[ParamRef] = []
        default_file = normalize_path(DEFAULT_PARAMS_FILE, wdir)
        for item in self._list("params"):
            if isinstance(item, (str, int, float)) and not isinstance(item, bool):
                refs.append(ParamRef(default_file, str(item)))
            elif isinstance(item, dict) and len(item) == 1:
                refs.extend(self._params_of_file(item, wdir))
            else:
                self.problem("params", f"param {item!r} must be a key or {{file: [keys]}}")
        return refs

    def _params_of_file(self, item: dict[str, Any], wdir: str) -> list[ParamRef]:
        (file, keys), = item.items()
        try:
            path = normalize_path(str(file), wdir)
        except ValueError as exc:
            self.problem("params", f"params file {file!r}: {exc}")
            return []
        if isinstance(keys, str):
            keys = [keys]
        if not isinstance(keys, list) or not keys:
            self.problem("params", f"params of {file!r} must be a non-empty list of keys")
            return []
        return [ParamRef(path, str(key)) for key in keys]

    def _env(self) -> tuple[tuple[str, str], ...]:
        env = self.body.get("env", {}) or {}
        if not isinstance(env, dict):
            self.problem("env", "'env' must be a mapping of names to values")
            return ()
        pairs = []
        for key, value in env.items():
            if not ENV_NAME.match(str(key)) or isinstance(value, (dict, list)) \
                    or "\0" in str(value):
                self.problem(key, f"env {key!r}: must be NAME: scalar (no NUL)", env)
                continue
            pairs.append((str(key), "" if value is None else str(value)))
        return tuple(sorted(pairs))

    def _retries(self) -> int:
        value = self.body.get("retries", 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
            self.problem("retries",
                         f"'retries' must be a whole number from 0 to 100, not {value!r}")
            return 0
        return value

    def _timeout(self) -> float | None:
        value = self.body.get("timeout")
        if value is None:
            return None
        try:
            return parse_duration(value)
        except LongDuration:
            self.problem("timeout", f"'timeout' {value!r} is {LONG_DURATION}")
            return None
        except ValueError:
            self.problem("timeout", f"'timeout' {value!r} is not a duration like 30s, 5m or 2h")
            return None

    def _partition(self) -> PartitionSpec | ItemSpec | None:
        value = self.body.get("partition")
        if self.items is not None:
            from gitpipe.pipeline.itemcheck import check_items

            wdir = self.wdir
            return check_items(self.name, self.body, self.items,
                               lambda path, written: normalize_path(path, wdir, written),
                               self.problem)
        if value is None:
            self._check_no_templates()
            return None
        if not isinstance(value, dict):
            self.problem("partition", "'partition' must be {by: date, start, end, freq}")
            return None
        from gitpipe.pipeline.partitions import shape_problem

        if problem := shape_problem(value):
            self.problem("partition", problem)
            return None
        spec = PartitionSpec(str(value["start"]), str(value.get("end", "yesterday")),
                             str(value.get("freq", "daily")))
        if spec.freq not in FREQS:
            self.problem("partition", f"unknown freq {spec.freq!r} (one of {', '.join(FREQS)})")
            return None
        problem = range_problem(spec, self.body, dt.date.today())
        if problem:
            self.problem("partition", problem)
            return None
        self._check_templates(set(variables("2000-01-01T00", spec.freq)))
        return spec

    def _template_texts(self) -> list[tuple[str, str]]:
        texts = [("cmd", str(self.body.get("cmd", "")))]
        for key in ("deps", "outs", "metrics"):
            texts += [(key, str(item)) for item in self._list(key)]
        env = self.body.get("env")
        if isinstance(env, dict):
            texts += [("env", str(v)) for v in env.values()]
        wait = self.body.get("wait_for")
        if isinstance(wait, dict):
            texts.append(("wait_for", str(wait.get("path", ""))))
        return texts

    def _check_no_templates(self) -> None:
        for key, text in self._template_texts():
            for name in template_names(text):
                self.problem(key, f"{key} uses ${{{name}}}, which is not defined (not in "
                             "'vars:' or params.yaml; no partition, foreach or matrix)")
                return

    def _check_templates(self, known: set[str]) -> None:
        for key, text in self._template_texts():
            for name in template_names(text):
                if name not in known:
                    hint = did_you_mean(name, known)
                    self.problem(key, f"{key}: unknown variable ${{{name}}}"
                                 + (f" ({hint})" if hint else ""))

    def _positive(self, key: str) -> int | None:
        value = self.body.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.problem(key, f"{key!r} must be a whole number of at least 1, not {value!r}")
            return None
        return value

    def _wait_for(self) -> WaitFor | None:
        value = self.body.get("wait_for")
        if value is None:
            return None
        value = {"path": value} if isinstance(value, str) else value
        if not isinstance(value, dict) or "path" not in value or set(value) - {
                "path", "timeout", "poke"}:
            self.problem("wait_for", "'wait_for' must be {path: URL, timeout: 6h, poke: 1m}")
            return None
        if problem := sensor_problem(str(value["path"])):
            self.problem("wait_for", f"wait_for: {problem}")
            return None
        try:
            return WaitFor(str(value["path"]), parse_duration(value.get("timeout", "6h")),
                           parse_duration(value.get("poke", "1m")))
        except LongDuration as exc:
            self.problem("wait_for", f"wait_for: {exc!s} is {LONG_DURATION}")
            return None
        except ValueError as exc:
            self.problem("wait_for", f"wait_for: {exc!s} is not a duration like 30s or 6h")
            return None

    def _executor(self) -> str:
        value = self.body.get("executor", registry.DEFAULT)
        if not isinstance(value, str) or not registry.is_known(value):
            self.problem("executor", registry.unknown_message(value))
            return registry.DEFAULT
        return value

    def _string_map(self, key: str) -> tuple[tuple[str, str], ...]:
        value = self.body.get(key) or {}
        if not isinstance(value, dict) or any(isinstance(v, (dict, list)) for v in value.values()):
            self.problem(key, f"{key!r} must be a mapping of names to values")
            return ()
        return tuple(sorted((str(k), str(v)) for k, v in value.items()))

    def _kube(self) -> KubeSpec | None:
        keys = ("image", "resources", "node_selector", "tolerations", "service_account",
                "env_from_secret")
        if not any(k in self.body for k in keys):
            return None
        resources = self._string_map("resources")
        for name, _ in resources:
            if name not in ("cpu", "memory", "gpu"):
                self.problem("resources", f"resources: {name!r} is not one of cpu, memory, gpu")
        tolerations = self.body.get("tolerations") or []
        if not isinstance(tolerations, list) or not all(isinstance(t, dict) for t in tolerations):
            self.problem("tolerations", "'tolerations' must be a list of mappings")
            tolerations = []
        secrets = []
        for var, ref in (self.body.get("env_from_secret") or {}).items():
            if not (isinstance(ref, list) and len(ref) == 2 and all(isinstance(r, str)
                                                                  for r in ref)):
                self.problem("env_from_secret", f"env_from_secret {var!r}: must be [secret, key]")
                continue
            secrets.append((str(var), ref[0], ref[1]))
        image = self.body.get("image")
        account = self.body.get("service_account")
        return KubeSpec(str(image) if image else None, resources, self._string_map("node_selector"),
                        tuple(json.dumps(plain(t), sort_keys=True) for t in tolerations),
                        str(account) if account else None, tuple(sorted(secrets)))

    def _pool(self) -> str | None:
        value = self.body.get("pool")
        if value is not None and not isinstance(value, str):
            self.problem("pool", "'pool' must be the name of a pool in .gitpipe/config.yaml")
            return None
        return value

    def _flag(self, key: str, default: bool = False) -> bool:
        value = self.body.get(key, default)
        if not isinstance(value, bool):
            self.problem(key, f"{key!r} must be true or false, not {value!r}")
            return False
        return value



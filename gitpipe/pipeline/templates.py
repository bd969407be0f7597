"""`${…}` as DVC writes it: values from `vars:`, params files and a stage's items.

A name is dotted (`models.us.threshold`, `item.lst.0`, `item[0]`); a value is
rendered as DVC renders it, so a pipeline brought over from dvc.yaml runs the
same commands: booleans `true`/`false`, numbers as Python prints them, a
mapping in `cmd` as command-line options (`--key value`, `--flag` for true,
nothing for false, a list as `--key a b`, strings shell-quoted). A field that
is exactly one `${…}` takes the value itself (a list for `foreach:`, a
boolean for `frozen:`). `\\${` is a literal `${`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

# One rendered command or path: the kernel takes no single argument over
# 128 KiB and no path over 4 KiB, so more is a long value named many times
# (`${big}${big}…`), which would otherwise be built whole in memory.
MAX_RENDERED = 1024 * 1024
TEMPLATE = re.compile(r"(?<!\\)\$\{([^}]*)\}")
_INDEX = re.compile(r"\[([^\]]*)\]")


class TemplateError(ValueError):
    """A name that is not there, or a value that cannot be written into text."""


def names_in(text: str) -> list[str]:
    return [match.strip() for match in TEMPLATE.findall(text)]


def root_of(name: str) -> str:
    return _INDEX.sub(r".\1", name).split(".", 1)[0].strip()


def lookup(context: Mapping[str, Any], name: str) -> Any:
    """The value `name` selects in `context`; TemplateError naming the missing part."""
    parts = _INDEX.sub(r".\1", name.strip()).split(".")
    value: Any = context
    walked: list[str] = []
    for part in parts:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            where = f" in ${{{'.'.join(walked)}}}" if walked else ""
            if not walked and part == "key" and "item" in context:
                where = " (a foreach over a list defines only ${item}; ${key} is a mapping's key)"
            raise TemplateError(f"${{{name}}}: {part!r} is not defined{where}")
        walked.append(part)
    return value


def to_text(value: Any, in_cmd: bool = False) -> str:
    """A value as DVC writes it into a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        if not in_cmd:
            raise TemplateError("a mapping can be written into 'cmd' only (as --key value)")
        return _options(value)
    if isinstance(value, list):
        raise TemplateError("a list cannot be written into a string (name one item of it)")
    return str(value)


def _flatten(value: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    pairs: list[tuple[str, Any]] = []
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, Mapping):
            pairs += _flatten(item, name + ".")
        else:
            pairs.append((name, item))
    return pairs


def _options(value: Mapping[str, Any]) -> str:
    """`{lr: 0.1, fast: true, slow: false, layers: [1, 2]}` → `--lr 0.1 --fast --layers 1 2`."""
    words: list[str] = []
    for key, item in _flatten(value):
        if isinstance(item, bool):
            words += [f"--{key}"] if item else []
        elif isinstance(item, list):
            if any(isinstance(one, (list, Mapping)) for one in item):
                raise TemplateError(f"cannot write the nested list {key!r} as options")
            words += [f"--{key}", *(_word(one) for one in item)]
        else:
            words += [f"--{key}", _word(item)]
    return " ".join(words)


def _word(value: Any) -> str:
    import shlex  # only for a mapping written as options

    return shlex.quote(value) if isinstance(value, str) else to_text(value)


Resolver = Callable[[str], Any]


def render(text: str, resolve: Resolver, in_cmd: bool = False,
           keep: Callable[[str], bool] | None = None) -> Any:
    """`text` with each `${name}` replaced by `resolve(name)`; names `keep` says
    yes to are left as written (resolved later, per item or per partition),
    and so is every `\\${` then: the last rendering turns it into `${`."""
    matches = list(TEMPLATE.finditer(text))
    if not matches:
        return text.replace("\\${", "${") if "\\${" in text and keep is None else text
    if keep is not None and all(keep(m.group(1).strip()) for m in matches):
        return text
    if not in_cmd and len(matches) == 1 and matches[0].group(0) == text:
        return resolve(matches[0].group(1).strip())

    rendered = len(text)

    def one(match: re.Match[str]) -> str:
        nonlocal rendered
        name = match.group(1).strip()
        if keep is not None and keep(name):
            return match.group(0)
        piece = to_text(resolve(name), in_cmd)
        rendered += len(piece)
        if rendered > MAX_RENDERED:
            raise TemplateError(f"${{{name}}}: the text renders to more than "
                                f"{MAX_RENDERED:,} characters")
        return piece

    done = TEMPLATE.sub(one, text)
    return done.replace("\\${", "${") if keep is None else done


def render_text(text: str, context: Mapping[str, Any], in_cmd: bool = False) -> str:
    """`text` with every name looked up in `context`, always as text."""
    value = render(text, lambda name: lookup(context, name), in_cmd)
    return value if isinstance(value, str) else to_text(value, in_cmd)


def render_data(data: Any, resolve: Resolver, keep: Callable[[str], bool] | None = None,
                field: str = "") -> Any:
    """A copy of YAML data with every string rendered; line-tracking containers
    keep their lines (errors still name them). `cmd` renders as a command."""
    if isinstance(data, str):
        return render(data, resolve, field == "cmd", keep)
    if isinstance(data, dict):
        copy = type(data)((key, render_data(value, resolve, keep, field or str(key)))
                          for key, value in data.items())
        return _same_lines(data, copy)
    if isinstance(data, list):
        return _same_lines(data, type(data)(render_data(v, resolve, keep, field) for v in data))
    return data


def _same_lines(original: Any, copy: Any) -> Any:
    for attribute in ("line", "lines"):
        if hasattr(original, attribute):
            setattr(copy, attribute, getattr(original, attribute))
    return copy


def has_template(data: Any) -> bool:
    if isinstance(data, str):
        return "${" in data
    if isinstance(data, dict):
        return any(has_template(v) for v in data.values())
    if isinstance(data, list):
        return any(has_template(v) for v in data)
    return False

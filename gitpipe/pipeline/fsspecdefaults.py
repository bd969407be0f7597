"""fsspec's own defaults for a protocol's options: its FSSPEC_<PROTOCOL>
variables and the files of its config folder, which fsspec adds to every
filesystem of the protocol (an option gitpipe passes wins). They are this
user's options as config.local.yaml's are, and a secret among them is kept
from a host only the committed config names by the same rule
(pipeline/committedoptions.check_local_secrets)."""

from __future__ import annotations

import os
from typing import Any

SOURCE = "fsspec's own config (FSSPEC_* variables, its config folder)"
# The protocols of one filesystem class: fsspec adds the defaults of each.
_SAME_CLASS = (("http", "https"), ("s3", "s3a"), ("webhdfs", "webHDFS"), ("ssh", "sftp"),
               ("az", "abfs", "abfss"), ("gs", "gcs"))


def fsspec_defaults(protocol: str) -> dict[str, Any]:
    """The options fsspec adds to a filesystem of `protocol`; {} without
    importing fsspec where it has no variable and no config folder to read."""
    folder = os.environ.get("FSSPEC_CONFIG_DIR",
                            os.path.join(os.path.expanduser("~"), ".config/fsspec"))
    if not os.path.isdir(folder) and not any(
            name.startswith("FSSPEC_") and name != "FSSPEC_CONFIG_DIR" for name in os.environ):
        return {}
    from fsspec.config import conf

    names = next((group for group in _SAME_CLASS if protocol in group), (protocol,))
    found: dict[str, Any] = {}
    for name in names:
        given = conf.get(name)
        if isinstance(given, dict):
            found.update(given)
    return found

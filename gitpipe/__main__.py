"""`python -m gitpipe`: the same entry point as the console script.

`python -m` puts the current folder first on the import path, and gitpipe
runs in work trees that anyone may have written: that entry goes before
anything else is imported, so a clone's `click.py` or `yaml.py` is never
taken for the installed one (docs/explanation/security.md). gitpipe's own
package is found before this runs; the installed hooks avoid `-m`
(usecases/hooks.py).
"""

import sys

if __name__ == "__main__":
    if not (getattr(sys.flags, "safe_path", False) or sys.flags.isolated):
        del sys.path[0]   # the current folder, which `-m` put there

    from gitpipe.cli.launch import main

    main()

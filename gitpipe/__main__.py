"""`python -m gitpipe`: the same entry point as the console script."""

from gitpipe.cli.launch import main

if __name__ == "__main__":
    main()

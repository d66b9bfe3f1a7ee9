"""`python -m minigpt {count,train,sample,export,card} ...`: the command line is the package minigpt/cli/."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())

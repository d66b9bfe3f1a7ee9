"""`python -m coursebook <command>`: the same as the `coursebook` script."""

import sys

from .cli import main

sys.exit(main())

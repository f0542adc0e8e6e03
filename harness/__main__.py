"""``python -m harness``: the command line."""

import sys

from harness.command.cli import main

sys.exit(main())

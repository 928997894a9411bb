"""``python -m rnnlab.cli``: the same as ``rnnlab``."""

import sys

from rnnlab.cli import main

sys.exit(main())

"""`python -m rnnlab ...` is the `rnnlab` command."""

import sys

from rnnlab.launch import main

sys.exit(main())

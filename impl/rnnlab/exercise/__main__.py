"""``python -m rnnlab.exercise README.md``: rebuild the README's generated tables in place."""

import sys

from rnnlab.exercise.readme import main

sys.exit(main())

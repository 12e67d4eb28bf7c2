"""``python -m agentfold_core.cli``: the ``agentfold`` command."""

import sys

from agentfold_core.cli import main

sys.exit(main())

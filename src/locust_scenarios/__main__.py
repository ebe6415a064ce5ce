"""``python -m locust_scenarios`` is the ``locust-scenarios`` command."""

import sys

from .cli import main

sys.exit(main())

"""``python -m locust_scenarios`` is the ``locust-scenarios`` command."""

import sys

from ._cli.main import main

sys.exit(main())

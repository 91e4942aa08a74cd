"""``python -m nn`` is the ``backprop`` command line (see :mod:`nn.app.cli`)."""

import sys

from .app.cli import main

sys.exit(main())

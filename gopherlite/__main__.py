"""``python -m gopherlite``: see `gopherlite.cli`."""

import sys

from gopherlite.cli import main

sys.exit(main())

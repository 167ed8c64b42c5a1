"""`python -m receptionist.cli` runs the console command."""

import sys

from receptionist.cli import main

sys.exit(main())

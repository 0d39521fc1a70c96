"""`python -m zoo.cli`: gan-zoo without hub_export's verbs (how `gan-zoo launch` starts its workers)."""
import sys

from zoo.cli import main

sys.exit(main())

"""`python -m ubiops.local serve|demo ...`, the same as `ubiops-local serve|demo ...`."""

from ubiops.local.cli import main

raise SystemExit(main())

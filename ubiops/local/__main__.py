"""`python -m ubiops.local serve ...`, the same as `ubiops-local serve ...`."""

from ubiops.local.cli import main

raise SystemExit(main())

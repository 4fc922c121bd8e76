"""`python -m convtui`, the same as the `convtui` command."""

from convtui.cli import main

raise SystemExit(main())

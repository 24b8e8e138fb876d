"""`python -m live_digits` is the `live-digits` command."""

from live_digits.cli import main

raise SystemExit(main())

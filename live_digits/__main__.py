"""`python -m live_digits` is the `live-digits` command."""

import sys

try:
    from live_digits.cli import main
except KeyboardInterrupt:  # a Ctrl-C while the command's first modules load
    print("live-digits: interrupted", file=sys.stderr)
    raise SystemExit(130) from None

raise SystemExit(main())

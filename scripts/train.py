"""Reproduce the shipped models: `python scripts/train.py --mnist PATH` (same as live-digits-train).

Without --mnist it uses keras's own download of the full MNIST (needs internet).
"""

from live_digits.train_cli import train_main

if __name__ == "__main__":
    raise SystemExit(train_main())

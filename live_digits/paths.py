"""Where a user's own files live: one per-user data folder with samples and models in it.

The folder is the platform's per-user data folder (platformdirs: `~/.local/share/live-digits`
on Linux, `~/Library/Application Support/live-digits` on macOS, `%LOCALAPPDATA%\\live-digits`
on Windows), never the installed package, which may be read-only or replaced on upgrade.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP = "live-digits"
# The CLIs read this variable (tests and users who keep their data elsewhere); nothing else does.
DATA_DIR_ENV = "LIVE_DIGITS_DATA_DIR"


@dataclass(frozen=True)
class UserDirs:
    """The per-user data folder: `samples/` (keys 0-9 in the window) and `models/` (trained, fine-tuned)."""

    root: Path

    @property
    def samples(self) -> Path:
        return self.root / "samples"

    @property
    def models(self) -> Path:
        return self.root / "models"


def user_dirs(env: Mapping[str, str]) -> UserDirs:
    """The per-user folders: $LIVE_DIGITS_DATA_DIR if set in `env`, else the platform's data folder."""
    override = env.get(DATA_DIR_ENV)
    return UserDirs(Path(override).expanduser() if override else Path(platformdirs.user_data_dir(APP, appauthor=False)))

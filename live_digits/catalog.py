"""Where models are found: the shipped ones (package data) and the user's own, by name.

`resolve` turns a name or a path into a model's NAME.json; `installed` lists what
`--model NAME` can find, with the accuracy each one's metadata records.
"""

from __future__ import annotations

import importlib.resources
import json
from dataclasses import dataclass
from pathlib import Path

from live_digits.errors import UserError

SHIPPED = ("dense", "cnn")
LINE_READER = "lines"  # number mode's line reader, shipped beside them: no digit model, so not listed
MODEL_SUFFIXES = (".json", ".tflite", ".keras")


def shipped_dir() -> Path:
    """The folder of the shipped models: the package data `live_digits.models`.

    setup.cfg maps the repository's top-level models/ to that package, so a wheel carries
    them and an editable install finds them in the checkout. Run straight from a checkout
    without installing, the package is not importable and the checkout's models/ is used.
    """
    try:
        return Path(str(importlib.resources.files("live_digits.models")))
    except ModuleNotFoundError:
        return Path(str(importlib.resources.files("live_digits"))).parent / "models"


def _is_name(spec: str) -> bool:
    """`cnn` or `mine` (a model found by name), not a path like `mine.json` or `out/mine`."""
    name = Path(spec).name
    return name == spec and name not in ("", "..") and Path(spec).suffix not in MODEL_SUFFIXES


def resolve(spec: str | Path, user_models: Path | None = None) -> Path:
    """A model name or path (to NAME.json, NAME.tflite or NAME.keras) -> its metadata path.

    A name is looked up in the per-user models folder first (a model the user trained under a
    shipped name replaces it for them), then among the shipped models.
    """
    spec = str(spec)
    if _is_name(spec):
        folders = ([user_models] if user_models is not None else []) + [shipped_dir()]
        for folder in folders:
            if (folder / f"{spec}.json").is_file():
                return folder / f"{spec}.json"
        if not Path(spec).is_dir():
            raise UserError(
                f"no model named {spec!r}",
                "live-digits --list-models shows the installed ones; or pass a path to NAME.json",
            )
    path = Path(spec)
    if path.suffix in (".tflite", ".keras"):
        path = path.with_suffix(".json")
    elif path.is_dir():
        raise UserError(f"{spec} is a folder, not a model", "pass NAME.json, NAME.tflite or NAME.keras")
    if not path.exists():
        raise UserError(f"model not found: {path}", "use --model cnn, a name from --list-models or a path to NAME.json")
    return path


@dataclass(frozen=True)
class Installed:
    """One model found by name: where it is, and what its metadata says it measured."""

    name: str
    where: str  # "user" or "shipped"
    path: Path  # NAME.json
    accuracy: str  # one line from the metadata, or why there is none
    hidden: bool = False  # a shipped model replaced by a user model of the same name


def installed(user_models: Path | None = None) -> list[Installed]:
    """Every model `--model NAME` can find: the user's first, then the shipped ones."""
    found, names = [], set()
    for where, folder in (("user", user_models), ("shipped", shipped_dir())):
        if folder is None or not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.json")):
            if where == "shipped" and path.stem == LINE_READER:
                continue
            found.append(Installed(path.stem, where, path, _accuracy_line(path), hidden=path.stem in names))
            names.add(path.stem)
    return found


def _accuracy_line(path: Path) -> str:
    """The measured accuracy a model's metadata records, in one line."""
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return "metadata unreadable"
    if not isinstance(meta, dict):
        return "metadata unreadable"
    parts = []
    mnist = meta.get("mnist_test") or {}
    if isinstance(mnist.get("accuracy"), (int, float)):
        parts.append(f"MNIST test {100 * mnist['accuracy']:.2f}% ({mnist.get('images', '?'):,} images)")
    tuned = meta.get("fine_tuning") or {}
    if isinstance(tuned.get("held_out_accuracy_after"), (int, float)):
        held = tuned.get("held_out", "?")
        parts.append(f"your held-out samples {100 * tuned['held_out_accuracy_after']:.1f}% ({held})")
    return "; ".join(parts) or "accuracy not measured"

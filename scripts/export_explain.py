"""Export the explanation model (NAME.explain.tflite) beside existing models, from their NAME.keras.

    python scripts/export_explain.py models/cnn.json models/dense.json

`live-digits-train` writes it with every new model; this adds it to models trained before
it existed, using the same export (`live_digits.train.export_explain_tflite`), and lists
it in the metadata's `files`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from live_digits import model, train
from live_digits.signals import run_main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="+", type=Path, help="NAME.json of each model")
    args = p.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    for meta_path in args.models:
        meta = model.read_metadata(meta_path)
        files = meta.setdefault("files", {})
        net = keras.models.load_model(meta_path.parent / files.get("keras", meta_path.stem + ".keras"), compile=False)
        files["explain"] = f"{meta_path.stem}.explain.tflite"
        train.export_explain_tflite(net, meta_path.parent / files["explain"])
        meta_path.write_text(json.dumps(meta, indent=2) + "\n")
        print(f"wrote {meta_path.parent / files['explain']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(run_main("export_explain.py", main))  # bad input: one line, no traceback

"""Load a shipped or trained model with its metadata, and predict batches fast.

A model is three files side by side: NAME.json (metadata: input contract, training,
accuracy), NAME.tflite (the fast path, run by the LiteRT interpreter: ~0.1 ms per digit,
a 20 ms import, no TensorFlow in memory) and NAME.keras (the source of truth, used only
when no .tflite exists, through a compiled TensorFlow function).
"""

from __future__ import annotations

import contextlib
import importlib.resources
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from live_digits.errors import UserError

log = logging.getLogger(__name__)

SHIPPED = ("dense", "cnn")
MODEL_SUFFIXES = (".json", ".tflite", ".keras")
# LiteRT threads: two halve the CNN's batch time (measured: scripts/benchmark.py);
# more buy little at this size and would compete with the capture loop.
THREADS = min(2, os.cpu_count() or 1)
# What every model takes: the output of live_digits.preprocess. Written into each model's
# metadata at training time; loading checks the keys that must match.
INPUT_CONTRACT = {
    "shape": [28, 28],
    "dtype": "float32",
    "scale": [0.0, 1.0],
    "polarity": "white-on-black",
    "normalisation": "bbox-20x20-com-28x28",
}
CHECKED_KEYS = ("shape", "scale", "polarity")


NOT_A_DIGIT = 10  # the extra class of models that can say "this is not one digit" (metadata "classes": 11)


@dataclass
class Model:
    """A loaded classifier: `predict(batch (N, 28, 28) float32) -> probs (N, 10) float32`.

    A model trained with a not-a-digit class (half a digit, two touching digits, debris)
    gives the ten digits' probabilities only; what is missing to 1 is its belief that the
    input is no single digit. One interpreter inside: call `predict` from one thread at a
    time (the window's recognizer calls it only from its worker thread).
    """

    name: str
    metadata: dict
    runtime: str
    _predict: object = field(repr=False)

    def predict(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if batch.ndim == 2:
            batch = batch[None]
        if len(batch) == 0:
            return np.zeros((0, 10), np.float32)
        return self._predict(batch)[:, :NOT_A_DIGIT]

    @property
    def knows_not_a_digit(self) -> bool:
        """True if the model was trained to tell a fragment or touching digits from a digit."""
        return self.metadata.get("classes") == NOT_A_DIGIT + 1


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


def read_metadata(path: Path) -> dict:
    """Read and check NAME.json: it must describe an input the live preprocessing produces."""
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(
            f"model metadata {path} is unreadable ({exc.__class__.__name__})", "retrain or restore it"
        ) from exc
    contract = meta.get("input", {}) if isinstance(meta, dict) else {}
    for key in CHECKED_KEYS:
        want = INPUT_CONTRACT[key]
        if contract.get(key) != want:
            raise UserError(
                f"model {path.name} expects input {key}={contract.get(key)!r}, live-digits gives {want!r}",
                "use a model trained by live-digits-train",
            )
    return meta


def load(spec: str | Path, user_models: Path | None = None, runtime: str = "auto") -> Model:
    """Load a model by name or path; runtime is "auto" (LiteRT if a .tflite exists), "litert" or "keras"."""
    meta_path = resolve(spec, user_models)
    meta = read_metadata(meta_path)
    files = meta.get("files", {})
    tflite = meta_path.parent / files.get("tflite", meta_path.stem + ".tflite")
    keras_file = meta_path.parent / files.get("keras", meta_path.stem + ".keras")
    if runtime == "auto":
        runtime = "litert" if tflite.exists() else "keras"
    if runtime == "litert":
        predict = _litert_predictor(tflite)
    elif runtime == "keras":
        predict = _keras_predictor(keras_file)
    else:
        raise ValueError(f"unknown runtime {runtime!r}")
    model = Model(meta.get("name", meta_path.stem), meta, runtime, predict)
    _check_outputs(model, meta_path)
    return model


def _check_outputs(model: Model, path: Path) -> None:
    """A corrupt-but-loadable file must not reach the loop: probe it once."""
    probs = model._predict(np.zeros((2, 28, 28), np.float32))
    classes = NOT_A_DIGIT + int(model.knows_not_a_digit)
    if probs.shape != (2, classes) or not np.all(np.isfinite(probs)) or not np.allclose(probs.sum(1), 1, atol=1e-3):
        raise UserError(f"model {path.stem} gives invalid outputs {probs.shape}", "retrain or restore the model files")


@contextlib.contextmanager
def _quiet_stderr():
    """Silence native libraries' chatter on file descriptor 2 for the duration."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _litert_predictor(path: Path):
    if not path.exists():
        raise UserError(f"model file not found: {path}", "retrain with live-digits-train or restore models/")
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # platforms without LiteRT wheels: TensorFlow's own interpreter
        from tensorflow.lite.python.interpreter import Interpreter
    try:
        with _quiet_stderr():  # the runtime prints an INFO line about its CPU delegate
            interpreter = Interpreter(model_path=str(path), num_threads=THREADS)
            interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        raise UserError(
            f"model file {path} is corrupt ({str(exc).splitlines()[0][:80]})", "retrain or restore it"
        ) from exc
    inp = interpreter.get_input_details()[0]["index"]
    out = interpreter.get_output_details()[0]["index"]
    state = {"batch": 0}

    def predict(batch: np.ndarray) -> np.ndarray:
        if len(batch) != state["batch"]:
            interpreter.resize_tensor_input(inp, batch.shape, strict=False)
            interpreter.allocate_tensors()
            state["batch"] = len(batch)
        interpreter.set_tensor(inp, batch)
        interpreter.invoke()
        return interpreter.get_tensor(out)  # already a copy: the next invoke cannot change it

    return predict


def _keras_predictor(path: Path):
    if not path.exists():
        raise UserError(f"model file not found: {path}", "retrain with live-digits-train or restore models/")
    try:
        import keras
        import tensorflow as tf
    except ImportError as exc:
        raise UserError(
            f"model {path.stem} has no .tflite file and TensorFlow is not installed to run its .keras",
            "pip install 'live-digits[train]', or export the model to .tflite",
        ) from exc

    try:
        net = keras.models.load_model(path, compile=False)
    except Exception as exc:  # keras raises many types for a damaged zip/h5
        raise UserError(f"model file {path} is corrupt ({exc.__class__.__name__})", "retrain or restore it") from exc
    call = tf.function(lambda x: net(x, training=False), reduce_retracing=True)
    return lambda batch: call(batch).numpy()

"""Load a shipped or trained model with its metadata, and predict batches fast.

A model is three files side by side: NAME.json (metadata: input contract, training,
accuracy), NAME.tflite (the fast path, run by the LiteRT interpreter: ~0.1 ms per digit,
a 20 ms import, no TensorFlow in memory) and NAME.keras (the source of truth, used only
when no .tflite exists, through a compiled TensorFlow function).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from live_digits.catalog import LINE_READER, resolve, shipped_dir
from live_digits.errors import UserError
from live_digits.native import quiet_stderr
from live_digits.sequence import LINE_HEIGHT, LINE_WIDTH

log = logging.getLogger(__name__)

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
# ... and what number mode's line reader takes: `sequence.line_input`'s line image.
LINE_CONTRACT = {
    "shape": [LINE_HEIGHT, LINE_WIDTH],
    "dtype": "float32",
    "scale": [0.0, 1.0],
    "polarity": "white-on-black",
    "normalisation": "pieces-in-place-height-28-left",
}
CHECKED_KEYS = ("shape", "scale", "polarity")
FILE_ROLES = ("tflite", "keras")  # metadata "files" and "sha256" keys
RESTORE = "retrain or restore it"
PROBE_MIN_READ = 0.5  # share of the demo digits a sound model reads (the shipped ones: all 30; damaged: ~3)


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
    # number mode's line reader (`sequence`): float32 (N, 32, 192) -> (N, 48, 11); None: cut touching digits
    read_line: object = field(default=None, repr=False)

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


def read_metadata(path: Path, expected: dict = INPUT_CONTRACT) -> dict:
    """Read and check NAME.json: it must describe an input the live preprocessing produces
    (`expected`), and the model files it lists must be the ones it was written with (their SHA-256)."""
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise UserError(f"model metadata {path} is unreadable ({exc.__class__.__name__})", RESTORE) from exc
    _check_types(meta, path)
    contract = meta.get("input", {})
    for key in CHECKED_KEYS:
        want = expected[key]
        if contract.get(key) != want:
            raise UserError(
                f"model {path.name} expects input {key}={contract.get(key)!r}, live-digits gives {want!r}",
                "use a model trained by live-digits-train",
            )
    _check_checksums(path, meta)
    return meta


def _check_types(meta, path: Path) -> None:
    """The fields loading reads must have the types it expects: a hand-edited file can hold anything."""

    def need(ok: bool, what: str) -> None:
        if not ok:
            raise UserError(f"model metadata {path} is damaged: {what}", RESTORE)

    need(isinstance(meta, dict), "not a JSON object")
    need(isinstance(meta.get("name", ""), str), '"name" is not a string')
    for key in ("input", "files", "sha256"):
        need(isinstance(meta.get(key, {}), dict), f'"{key}" is not an object')
    for role, name in meta.get("files", {}).items():
        need(isinstance(name, str) and name == Path(name).name and name not in ("", ".", ".."), f"files.{role}")
    for role, digest in meta.get("sha256", {}).items():
        need(isinstance(digest, str) and len(digest) == 64, f"sha256.{role}")


def files_of(meta_path: Path, meta: dict) -> list[Path]:
    """The model files (.tflite, .keras) a metadata file names, whether or not they exist."""
    files = meta.get("files", {})
    return [meta_path.parent / files.get(role, f"{meta_path.stem}.{role}") for role in FILE_ROLES]


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, in hex: what the metadata records for each model file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_checksums(meta_path: Path, meta: dict) -> None:
    """A flipped byte in a .tflite can still load and answer confidently wrong: compare checksums."""
    sums = meta.get("sha256", {})
    for role, path in zip(FILE_ROLES, files_of(meta_path, meta), strict=True):
        if role not in sums or not path.exists():
            continue
        try:
            actual = file_sha256(path)
        except OSError as exc:
            raise UserError(f"cannot read model file {path} ({exc.strerror})", "check its permissions") from exc
        if actual != sums[role]:
            raise UserError(f"model file {path} is damaged (its SHA-256 differs from {meta_path.name})", RESTORE)


def load(spec: str | Path, user_models: Path | None = None, runtime: str = "auto") -> Model:
    """Load a model by name or path; runtime is "auto" (LiteRT if a .tflite exists), "litert" or "keras"."""
    meta_path = resolve(spec, user_models)
    meta = read_metadata(meta_path)
    tflite, keras_file = files_of(meta_path, meta)
    if runtime == "auto":
        runtime = "litert" if tflite.exists() else "keras"
    if runtime == "litert":
        predict = _litert_predictor(tflite)
    elif runtime == "keras":
        predict = _keras_predictor(keras_file)
    else:
        raise ValueError(f"unknown runtime {runtime!r}")
    model = Model(meta.get("name", meta_path.stem), meta, runtime, predict, load_line_reader())
    _check_outputs(model, meta_path)
    return model


def load_line_reader(folder: Path | None = None):
    """Number mode's shipped line reader (LINE_READER.json in `folder`, default the shipped
    models) as a predictor, or None if it is not there or is damaged (with a warning):
    number mode then reads the digits one by one and cuts touching ones itself."""
    meta_path = (folder or shipped_dir()) / f"{LINE_READER}.json"
    if not meta_path.exists():
        return None
    try:
        meta = read_metadata(meta_path, LINE_CONTRACT)
        return _litert_predictor(files_of(meta_path, meta)[0], LINE_CONTRACT["shape"])
    except UserError as exc:
        log.warning("%s: number mode reads digits one by one", exc)
        return None


def _check_outputs(model: Model, path: Path) -> None:
    """A corrupt-but-loadable file must not reach the loop: probe it once with the demo's digits.

    The checksums catch damage to files whose metadata records them; this catches the rest
    (older models, a file replaced together with its metadata): damaged weights that still
    load answer with valid-looking probabilities, but no longer read known digits.
    """
    images, labels = _probe_digits()
    try:
        probs = np.asarray(model._predict(images))
    except Exception as exc:  # a runtime refuses a model it cannot run in many ways
        raise UserError(f"model {path.stem} cannot read a 28x28 input ({exc.__class__.__name__})", RESTORE) from exc
    n, classes = len(labels), NOT_A_DIGIT + int(model.knows_not_a_digit)
    if probs.shape != (n, classes) or not np.all(np.isfinite(probs)) or not np.allclose(probs.sum(1), 1, atol=1e-3):
        raise UserError(f"model {path.stem} gives invalid outputs {probs.shape}", "retrain or restore the model files")
    read = int(np.sum(probs[:, :NOT_A_DIGIT].argmax(1) == labels))
    if read < PROBE_MIN_READ * n:
        raise UserError(f"model {path.stem} reads only {read} of {n} known digits: its files are damaged", RESTORE)


def _probe_digits() -> tuple[np.ndarray, np.ndarray]:
    """The demo's handwritten digits as model inputs (30, 28, 28) and their labels (30,)."""
    from live_digits import datasets, sources

    with sources.DEMO_DIGITS.open("rb") as f, np.load(f) as data:
        return datasets.mnist_to_inputs(data["images"]), data["labels"]


def _check_input(shape, dtype, path: Path, want: list[int]) -> None:
    """The model must take float32 (N, *want): what the live preprocessing gives."""
    if [int(v) for v in list(shape)[1:]] != want or np.dtype(dtype) != np.float32:
        raise UserError(
            f"model file {path} takes {np.dtype(dtype).name} input of shape {[int(v) for v in list(shape)[1:]]}, "
            f"not float32 {want} like live-digits gives",
            "use a model trained by live-digits-train",
        )


def _interpreter_class():
    """LiteRT's Interpreter; TensorFlow's own only where LiteRT is not installed at all."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ModuleNotFoundError as exc:  # platforms without LiteRT wheels
        if not (exc.name or "").startswith("ai_edge_litert"):
            raise
        from tensorflow.lite.python.interpreter import Interpreter
    return Interpreter


def _litert_predictor(path: Path, shape: list[int] = INPUT_CONTRACT["shape"]):
    if not path.exists():
        raise UserError(f"model file not found: {path}", "retrain with live-digits-train or restore models/")
    Interpreter = _interpreter_class()  # noqa: N806
    try:
        with quiet_stderr():  # the runtime prints an INFO line about its CPU delegate
            interpreter = Interpreter(model_path=str(path), num_threads=THREADS)
            interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as exc:
        first = (str(exc).splitlines() or [exc.__class__.__name__])[0][:80]
        raise UserError(f"model file {path} is corrupt ({first})", RESTORE) from exc
    details = interpreter.get_input_details()[0]
    _check_input(details["shape"], details["dtype"], path, shape)
    inp = details["index"]
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
        with quiet_stderr():  # TensorFlow's import prints about oneDNN and CUDA
            import keras
            import tensorflow as tf
    except ImportError as exc:
        raise UserError(
            f"model {path.stem} has no .tflite file and TensorFlow is not installed to run its .keras",
            "pip install 'live-digits[train]', or export the model to .tflite",
        ) from exc

    try:
        with quiet_stderr():
            net = keras.models.load_model(path, compile=False)
    except Exception as exc:  # keras raises many types for a damaged zip/h5
        raise UserError(f"model file {path} is corrupt ({exc.__class__.__name__})", RESTORE) from exc
    _check_input(net.inputs[0].shape, net.inputs[0].dtype, path, INPUT_CONTRACT["shape"])
    call = tf.function(lambda x: net(x, training=False), reduce_retracing=True)
    return lambda batch: call(batch).numpy()

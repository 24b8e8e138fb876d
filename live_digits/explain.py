"""See inside the network: where it looks, what each layer sees, and the runner-up.

Where it looks is occlusion sensitivity: hide one square of the 28x28 input at a time
(paint it the paper's colour, 0), run every hidden copy through the network in one
batch, and see how much each class's log-probability drops. A square whose hiding makes
the shown digit much less likely is where the network looks; one whose hiding makes the
runner-up more likely is what stands between the two. It needs only forward passes, so
the explanation model (NAME.explain.tflite: the same weights as NAME.tflite, with the
convolution maps and the hidden layer as extra outputs) runs it under LiteRT, with no
TensorFlow at run time.

`LiveExplainer` runs it on a worker thread at a few refreshes a second: the window loop
hands it the latest model input and picks up the latest explanation, never waiting.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from live_digits import catalog
from live_digits import model as model_files

log = logging.getLogger(__name__)

SIZE = 28  # the model input's side
PATCH = 4  # side of the hidden square: about a stroke's width; wider squares smear the map onto the paper
STRIDE = 2  # 13 x 13 = 169 positions (one batch of 170 with the input); every pixel under 2 x 2 squares
FILL = 0.0  # the paper's colour: hiding a square removes its ink and adds none
MIN_INTERVAL = 0.1  # seconds between the starts of two explanations: at most 10 a second
DUTY = 0.25  # ... and at most this fraction of the time busy: a busy machine's refreshes come slower
SAME = 0.01  # mean |difference| under which an input is not explained again (a held digit: ~0.005)
THREADS = 1  # the interpreter's threads: the other core stays with the camera loop
NICE = 10  # the worker's scheduling priority, lower than the loop's (`_lower_priority`)


def patch_positions(size: int = SIZE, patch: int = PATCH, stride: int = STRIDE) -> np.ndarray:
    """Top-left corners (y, x) of every hidden square, int (P, 2); the last row and column reach the edge."""
    starts = list(range(0, size - patch + 1, stride))
    if starts[-1] != size - patch:
        starts.append(size - patch)
    return np.array([(y, x) for y in starts for x in starts], np.int64)


@functools.lru_cache(maxsize=4)
def _squares(size: int, patch: int, stride: int) -> np.ndarray:
    """bool (P, size, size): square k of `patch_positions` set. Built once: the worker then runs
    whole-array numpy calls, which release the GIL, instead of a Python loop that holds it."""
    squares = np.zeros((len(patch_positions(size, patch, stride)), size, size), bool)
    for k, (y, x) in enumerate(patch_positions(size, patch, stride)):
        squares[k, y : y + patch, x : x + patch] = True
    squares.flags.writeable = False
    return squares


def occluded_batch(x: np.ndarray, patch: int = PATCH, stride: int = STRIDE, fill: float = FILL) -> np.ndarray:
    """float32 (28, 28) -> float32 (1 + P, 28, 28): the input itself, then one copy per hidden square."""
    squares = _squares(x.shape[0], patch, stride)
    batch = np.empty((1 + len(squares), *x.shape), np.float32)
    batch[0] = x
    np.copyto(batch[1:], np.where(squares, np.float32(fill), x.astype(np.float32)))
    return batch


def log_odds(probs: np.ndarray) -> np.ndarray:
    """Probabilities (N, C) -> float64 log(p / (1 - p)), with 1 - p summed from the other classes.

    A confident winner's float32 probability rounds to 1.0, where log p is 0 whatever the
    input; the other classes' small probabilities still tell how sure it is.
    """
    p = np.maximum(probs.astype(np.float64), 1e-30)
    rest = np.maximum(p.sum(axis=1, keepdims=True) - p, 1e-30)
    return np.log(p) - np.log(rest)


def occlusion_heat(probs: np.ndarray, patch: int = PATCH, stride: int = STRIDE, size: int = SIZE) -> np.ndarray:
    """Probabilities (1 + P, C) of `occluded_batch` -> heat float32 (C, size, size).

    heat[c, y, x] is the mean, over the hidden squares covering pixel (y, x), of how much
    hiding the square lowers the log-odds of c: positive where the pixel's region is
    evidence for c, negative where it is evidence against. Log-odds, because a confident
    winner's probability barely moves (0.999 -> 0.99) while its log-odds tell the regions apart.
    """
    odds = log_odds(probs)
    drop = odds[0] - odds[1:]  # (P, C)
    square, pixel = np.nonzero(_squares(size, patch, stride).reshape(len(drop), -1))
    count = np.maximum(np.bincount(pixel, minlength=size * size), 1)
    # Summed over the squares covering each pixel; bincount, as a small matmul would wake BLAS's threads.
    total = [np.bincount(pixel, weights=drop[square, c], minlength=size * size) for c in range(drop.shape[1])]
    return (np.stack(total) / count).reshape(-1, size, size).astype(np.float32)


class ExplainModel:
    """NAME.explain.tflite under LiteRT: batch (N, 28, 28) -> its outputs in export order.

    The outputs (`live_digits.train.explain_outputs`): each convolution's activations
    (N, H, W, C), the hidden layer (N, U), the probabilities (N, 10), or (N, 11) for a model
    with a not-a-digit class (`model.NOT_A_DIGIT`). One interpreter:
    call `run` from one thread at a time.
    """

    def __init__(self, path: Path, threads: int = THREADS):
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:  # platforms without LiteRT wheels: TensorFlow's own interpreter
            from tensorflow.lite.python.interpreter import Interpreter
        self.path = path
        self._interpreter = Interpreter(model_path=str(path), num_threads=threads)
        outputs = self._interpreter.get_signature_runner().get_output_details()  # output_0, output_1, ...
        self._outputs = [outputs[k]["index"] for k in sorted(outputs, key=lambda k: int(k.rsplit("_", 1)[1]))]
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._batch = 0
        weights = self._softmax_weights()
        self.votes = None if weights is None else weights[:10]  # the digits' rows: a unit votes for a digit

    def _softmax_weights(self) -> np.ndarray | None:
        """The last layer's weights float32 (C, U): how much each hidden unit votes for each class.

        The one constant tensor of that shape in the file; None if there is not exactly one.
        """
        tensors = self._interpreter.get_tensor_details()
        hidden, probs = ({d["index"]: d for d in tensors}[i]["shape"] for i in self._outputs[-2:])
        found = [d for d in tensors if tuple(d["shape"]) == (probs[-1], hidden[-1])]
        return self._interpreter.get_tensor(found[0]["index"]).copy() if len(found) == 1 else None

    def run(self, batch: np.ndarray, layers_of_first: bool = False) -> list[np.ndarray]:
        """The outputs for `batch`; with `layers_of_first`, the layers' outputs of its first input only
        (shape (1, ...)) and the probabilities of all: the occlusion batch needs no other maps, and
        copying them all out would cost as much as the network itself."""
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if len(batch) != self._batch:
            self._interpreter.resize_tensor_input(self._input, batch.shape, strict=False)
            self._interpreter.allocate_tensors()
            self._batch = len(batch)
        self._interpreter.set_tensor(self._input, batch)
        self._interpreter.invoke()
        if not layers_of_first:
            return [self._interpreter.get_tensor(i) for i in self._outputs]
        *layers, probs = self._outputs
        first = [self._interpreter.tensor(i)()[:1].copy() for i in layers]  # a view into the arena: copy now
        return [*first, self._interpreter.get_tensor(probs)]


def explain_path(spec: str | Path) -> Path | None:
    """The explanation model beside a model (`dense`, `cnn` or a path), from its metadata's
    `files` entry; None if the model has none (an ensemble, or one trained before it existed),
    or if it is damaged (its SHA-256 differs from the metadata's): no view beats a wrong one."""
    meta_path = catalog.resolve(spec)
    meta = model_files.read_metadata(meta_path)
    name = meta.get("files", {}).get("explain")
    path = meta_path.parent / name if name else None
    if path is None or not path.exists():
        return None
    expected = meta.get("sha256", {}).get("explain")
    if expected is not None and model_files.file_sha256(path) != expected:
        log.warning("explanation model %s is damaged (its SHA-256 differs from %s)", path, meta_path.name)
        return None
    return path


@dataclass
class Explanation:
    """What the network made of one model input; arrays are float32."""

    model_input: np.ndarray  # (28, 28) the input explained
    probs: np.ndarray  # (C,) the network's probabilities for it (this frame alone, no window)
    heat: np.ndarray  # (C, 28, 28) occlusion sensitivity per class (`occlusion_heat`)
    maps: list[np.ndarray]  # each convolution's activations (H, W, C); empty for a dense network
    hidden: np.ndarray  # (U,) the hidden layer feeding the softmax
    votes: np.ndarray | None  # (C, U) softmax weights, if found in the file
    seconds: float = 0.0  # the worker's time to compute it
    view: np.ndarray | None = field(default=None, repr=False)  # the drawn panel, if a `draw` was given

    @property
    def ranked(self) -> list[int]:
        """The digits by probability, most likely first (a not-a-digit class is left out, as in the window)."""
        return [int(c) for c in np.argsort(self.probs[:10])[::-1]]

    def strongest_units(self, k: int = 8) -> list[int]:
        """The `k` hidden units firing hardest, strongest first."""
        return [int(u) for u in np.argsort(self.hidden)[::-1][:k]]


def explain(net: ExplainModel, x: np.ndarray, patch: int = PATCH, stride: int = STRIDE) -> Explanation:
    """One model input float32 (28, 28) -> its Explanation, from one interpreter call."""
    t0 = time.perf_counter()
    *maps, hidden, probs = net.run(occluded_batch(x, patch, stride), layers_of_first=True)
    return Explanation(
        model_input=np.array(x, np.float32),
        probs=probs[0],
        heat=occlusion_heat(probs, patch, stride),
        maps=[m[0] for m in maps],
        hidden=hidden[0],
        votes=net.votes,
        seconds=time.perf_counter() - t0,
    )


def _lower_priority() -> None:
    """Give the calling thread a lower scheduling priority (nice +NICE), where the OS allows it.

    On a busy machine the window loop then runs first and the explanation takes what CPU
    is left: it refreshes less often, the camera view does not stutter. Linux only: there a
    thread is schedulable on its own (elsewhere the call would name a process, or nothing).
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)


class LiveExplainer:
    """Explains the newest model input on a worker thread, at most once per `min_interval` s
    and busy at most `DUTY` of the time; an input that looks like the one last explained
    (`SAME`) is skipped, so a digit held still costs nothing after its first explanation.

    `submit` and `latest` never wait: the window loop hands over its current input (the
    older one, if still unexplained, is dropped) and draws whatever explanation is newest.
    `load` builds the ExplainModel on the worker, so opening it costs the loop nothing;
    `draw(explanation) -> image` (optional) renders the view there too.
    """

    def __init__(
        self,
        load: Callable[[], ExplainModel],
        draw: Callable[[Explanation], np.ndarray] | None = None,
        min_interval: float = MIN_INTERVAL,
    ):
        self._load, self._draw, self.min_interval = load, draw, min_interval
        self._cond = threading.Condition()
        self._input: np.ndarray | None = None
        self._latest: Explanation | None = None
        self._stop = False
        self._cleared = 0
        self.error: str = ""  # set if the model could not be loaded; the view says so
        self.refreshes: list[float] = []  # perf_counter() at which each explanation was ready
        self.work: list[float] = []  # seconds the worker spent on each (explaining and drawing)
        # Started here, not on the first submit: starting a thread waits until it runs, a
        # few ms on a busy machine that the window loop should not pay.
        self._thread = threading.Thread(target=self._work, name="live-digits-explain", daemon=True)
        self._thread.start()

    def submit(self, model_input: np.ndarray | None) -> None:
        """Ask for `model_input` (float32 (28, 28)) to be explained next; None clears the view."""
        with self._cond:
            if model_input is None:
                self._input, self._latest = None, None
                self._cleared += 1  # an explanation under way belongs to the digit that left
            else:
                self._input = model_input
                self._cond.notify()

    def latest(self) -> Explanation | None:
        """The newest finished explanation, or None."""
        return self._latest

    def close(self) -> None:
        """Stop the worker (after the explanation it is computing, if any)."""
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(timeout=5)

    def _next_input(self) -> tuple[np.ndarray | None, int]:
        """Wait for an input to explain: (it, the clear count it belongs to), or (None, _) to stop."""
        with self._cond:
            while self._input is None and not self._stop:
                self._cond.wait()
            if self._stop:
                return None, 0
            x, self._input = self._input, None
            return x, self._cleared

    def _work(self) -> None:
        _lower_priority()
        x, cleared = self._next_input()  # nothing is loaded until the view is first used
        if x is None:
            return
        try:
            net = self._load()
        except Exception as exc:  # a missing or damaged file: the view shows one line, the camera goes on
            log.error("explanation view unavailable: %s", exc)
            self.error = f"no explanation model ({exc.__class__.__name__})"
            return
        while x is not None:
            latest = self._latest
            if latest is not None and float(np.mean(np.abs(x - latest.model_input))) < SAME:
                x, cleared = self._next_input()  # the same picture again: nothing new to show
                continue
            start = time.perf_counter()
            result = explain(net, x)
            if self._draw is not None:
                result.view = self._draw(result)
            end = time.perf_counter()
            with self._cond:
                if cleared == self._cleared:
                    self._latest = result
                    self.refreshes.append(end)
                    self.work.append(end - start)
            time.sleep(max(0.0, start + max(self.min_interval, (end - start) / DUTY) - time.perf_counter()))
            x, cleared = self._next_input()


def live_explainer(spec: str | Path) -> LiveExplainer | None:
    """The window's explainer for a model (`dense`, `cnn` or a path), drawing the view on its
    worker; None if the model has no explanation model. Nothing is loaded until first used."""
    path = explain_path(spec)
    if path is None:
        return None
    from live_digits import overlay  # drawing: only the window needs it

    return LiveExplainer(lambda: ExplainModel(path), draw=overlay.draw_explanation)

"""Training inputs that look like what the live loop sees: mask augmentation and filmed copies.

Both training and fine-tuning use these. Augmentation models what a camera and a pen do to
a digit *before* thresholding (shape: rotation, shear, aspect, elastic wobble; pen: stroke
thickness; camera and threshold: blur, ragged edges, holes, specks), so the model learns
the live crops' distribution, not only MNIST's. Filmed copies go the whole way: the digit
written on rendered paper, filmed by the rendered webcam (`synth`) and read by the live
path itself (`preprocess.read_box`).
"""

from __future__ import annotations

import concurrent.futures
import itertools
import logging
import multiprocessing
import os

import cv2
import numpy as np

from live_digits import datasets, preprocess, sequence, synth

log = logging.getLogger(__name__)


def progress(total: int, what: str):
    """A keras progress bar for a slow loop (keras is imported only when training)."""
    from keras.utils import Progbar

    log.info("%s ...", what)
    return Progbar(total, unit_name=what.split()[0])


def _elastic_maps(rng: np.random.Generator, size: int, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Smooth random displacement fields (pixels), as in Simard et al.'s elastic distortion."""
    coarse = rng.uniform(-1, 1, (2, 5, 5)).astype(np.float32)
    dx, dy = (cv2.resize(c, (size, size), interpolation=cv2.INTER_CUBIC) * alpha for c in coarse)
    grid = np.arange(size, dtype=np.float32)
    return grid[None, :] + dx, grid[:, None] + dy


def augment_mask(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One raw MNIST digit (uint8 28x28) -> a randomly distorted binary mask at crop scale."""
    up = datasets.UPSCALE
    size = image.shape[0] * up
    big = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR)
    pad = up * 6
    big = cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    n = big.shape[0]
    c = n / 2
    angle = rng.normal(0, 7)
    shear = rng.normal(0, 0.15)
    aspect = np.exp(rng.normal(0, 0.12))
    a = cv2.getRotationMatrix2D((c, c), angle, 1.0)
    s = np.array([[aspect, shear, 0], [0, 1 / aspect, 0]], np.float64)
    m = a[:, :2] @ s[:, :2]
    offset = np.array([c, c]) - m @ np.array([c, c])
    warp = np.hstack([m, offset[:, None]])
    big = cv2.warpAffine(big, warp, (n, n), flags=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        mx, my = _elastic_maps(rng, n, alpha=rng.uniform(2, 6))
        big = cv2.remap(big, mx, my, cv2.INTER_LINEAR)
    if rng.random() < 0.3:  # camera blur before the threshold: rounder, thicker or thinner
        big = cv2.GaussianBlur(big, (0, 0), rng.uniform(1, 3))
    if rng.random() < 0.25:  # sensor noise before the threshold: ragged edges
        big = np.clip(big + rng.normal(0, 25, big.shape), 0, 255).astype(np.uint8)
    level = rng.uniform(0.2, 0.75)  # threshold choice changes the stroke width
    mask = (big > level * 255).astype(np.uint8) * 255
    r = rng.random()
    if r < 0.2:  # thick marker
        k = int(rng.integers(2, 6)) * 2 + 1
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    elif r < 0.35:  # fine pen
        mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    if rng.random() < 0.2 and r >= 0.35:  # threshold artefacts: holes in strokes, specks around
        holes = rng.random(mask.shape) < rng.uniform(0.01, 0.04)
        mask[holes] = 0
        specks = rng.random(mask.shape) < 0.0005
        mask[specks] = 255
    return mask


def augmented_inputs(x: np.ndarray, copies: int, seed: int) -> np.ndarray:
    """`copies` augmented model inputs per image: float32 (copies * N, 28, 28)."""
    rng = np.random.default_rng(seed)
    out = np.empty((copies * len(x), preprocess.INPUT_SIZE, preprocess.INPUT_SIZE), np.float32)
    bar = progress(copies, "copies augmented") if copies else None
    for k in range(copies):
        for i, img in enumerate(x):
            out[k * len(x) + i] = datasets.mask_to_input(augment_mask(img, rng))
        bar.update(k + 1)
    return out


def filmed_inputs(
    x: np.ndarray, copies: int, seed: int, workers: int | None = None, numbers: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """`copies` model inputs per image, each filmed by the rendered webcam and read by the live path.

    Mask augmentation stops at the threshold; this goes the whole way: the digit's pen path
    redrawn with a random pen on rendered paper (ink, ruling, light, blur, noise, shake, JPEG,
    as `synth.random_conditions` draws them), then `preprocess.read_box`, the live loop's own
    threshold, line removal, segmentation and normalisation. What the model learns is then
    exactly what the live loop feeds it. `numbers` more copies film the images as the digits
    of 2-4 digit numbers read in number mode, whose crops differ (hysteresis, the wider box,
    neighbours); a number whose digit count is misread is left out. Returns (inputs float32
    (M, 28, 28), index of each input's source image): a digit the live path loses (too faint
    to find) is left out. Rendering is slow, so the copies are shared among `workers` processes.
    """
    streams = np.random.SeedSequence(seed).spawn(copies + numbers)
    tasks = [(x, stream, k >= copies) for k, stream in enumerate(streams)]
    workers = min(len(tasks), workers or os.cpu_count() or 1)
    parts = []
    if tasks:
        log.info("filming %d + %d (as numbers) copies of %d digits on %d process(es)", copies, numbers, len(x), workers)
        bar = progress(len(tasks), "copies filmed")
    if workers <= 1:
        for task in tasks:
            parts.append(_film_copy(task))
            bar.update(len(parts))
    else:  # spawn, not fork: the parent may already run TensorFlow's threads
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            for part in pool.map(_film_copy, tasks):
                parts.append(part)
                bar.update(len(parts))
    empty = np.zeros((0, preprocess.INPUT_SIZE, preprocess.INPUT_SIZE), np.float32)
    inputs = np.concatenate([empty] + [images for images, _ in parts])
    return inputs, np.concatenate([np.zeros(0, np.int64)] + [index for _, index in parts])


def style_images(per_style: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Digits in styles MNIST rarely has (`synth.STYLES`: a 1 with a flag and no foot, a
    crossed 7, an open 4), drawn from jittered pen paths: uint8 (N, 28, 28) and labels (N,)."""
    rng = np.random.default_rng(seed)
    images = [synth.style_digit(style, rng) for style in synth.STYLES for _ in range(per_style)]
    labels = [label for label in synth.STYLES.values() for _ in range(per_style)]
    empty = np.zeros((0, preprocess.INPUT_SIZE, preprocess.INPUT_SIZE), np.uint8)
    return np.asarray(images, np.uint8).reshape(-1, *empty.shape[1:]), np.asarray(labels, np.uint8)


def not_a_digit_inputs(x: np.ndarray, count: int, seed: int) -> np.ndarray:
    """`count` model inputs that are no single digit: float32 (count, 28, 28).

    What number mode's candidate cuts hand the classifier: part of a digit (a vertical
    slice of 30-60% of a digit at least 0.6 as wide as tall: a slice of a 1 is a 1), two
    digits touching or overlapping (a cut not made), and a cut through a touching pair in
    the wrong place (the end of one digit and the start of the next). Each is made from
    mask-augmented images of `x` (uint8 (N, 28, 28)) and normalised as a number's piece is.
    """
    rng = np.random.default_rng(seed)
    out = np.empty((count, preprocess.INPUT_SIZE, preprocess.INPUT_SIZE), np.float32)
    bar = progress(count, "inputs of no single digit") if count else None
    for k in range(count):
        a, b = (_tight(augment_mask(x[i], rng)) for i in rng.integers(0, len(x), 2))
        kind = rng.random()
        if kind < 0.4 and a.shape[1] >= 0.6 * a.shape[0]:  # a slice of one digit
            width = max(2, int(rng.uniform(0.3, 0.6) * a.shape[1]))
            start = 0 if rng.random() < 0.5 else a.shape[1] - width
            mask = a[:, start : start + width]
        else:  # two digits side by side, overlapping by up to a fifth of the narrower one
            pair = _side_by_side(a, b, int(rng.uniform(-0.05, 0.2) * min(a.shape[1], b.shape[1])))
            if kind < 0.8:
                mask = pair
            else:  # cut in the wrong place: the end of the first and the start of the second
                left = int(rng.uniform(0.3, 0.8) * a.shape[1])
                right = a.shape[1] + int(rng.uniform(0.2, 0.7) * b.shape[1])
                mask = pair[:, left : min(right, pair.shape[1])]
        out[k] = preprocess.normalise_patch(_tight(mask))
        if (k + 1) % 1000 == 0 or k + 1 == count:
            bar.update(k + 1)
    return out


def _tight(mask: np.ndarray) -> np.ndarray:
    """A uint8 mask cropped to its ink (all of it, if it has none)."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1] if rows.size else mask


def _side_by_side(a: np.ndarray, b: np.ndarray, overlap: int) -> np.ndarray:
    """Two tight uint8 masks on one line (bottoms aligned), b moved `overlap` px into a (negative: a gap)."""
    height = max(a.shape[0], b.shape[0])
    start = a.shape[1] - overlap
    out = np.zeros((height, max(start + b.shape[1], a.shape[1])), np.uint8)
    out[height - a.shape[0] :, : a.shape[1]] = a
    region = out[height - b.shape[0] :, start : start + b.shape[1]]
    np.maximum(region, b, out=region)
    return out


FILM_FRAME = (240, 240)  # the 200x200 box with room around it for shake and light falloff
FILM_NUMBER_FRAME = (440, 240)  # ... and the 400x200 number box


def _film_copy(task: tuple[np.ndarray, np.random.SeedSequence, bool]) -> tuple[np.ndarray, np.ndarray]:
    """One filmed copy of every image in x (a worker process's share of `filmed_inputs`)."""
    x, stream, as_numbers = task
    cv2.setNumThreads(1)  # one process per core already
    rng = np.random.default_rng(stream)
    box, frame_size = (preprocess.NUMBER_BOX, FILM_NUMBER_FRAME) if as_numbers else (preprocess.DEFAULT_BOX, FILM_FRAME)
    images, index = [], []
    for group in _number_groups(len(x), rng) if as_numbers else ([i] for i in range(len(x))):
        cond = synth.random_conditions(rng, desk_side="none", desk_frac=0.0)  # no desk in a small frame
        frame = synth.render_frames([x[i] for i in group], cond, 1, rng, frame_size, box)[0]
        digits = preprocess.read_box(frame, box, multi=as_numbers)[3]
        if len(digits) != len(group):  # a digit lost, or a number's digits miscounted: which is which?
            continue
        for i, digit in zip(group, digits, strict=True):
            images.append(digit.image)
            index.append(i)
    shape = (len(images), preprocess.INPUT_SIZE, preprocess.INPUT_SIZE)
    return np.asarray(images, np.float32).reshape(shape), np.asarray(index, np.int64)


def _number_groups(n: int, rng: np.random.Generator) -> list[list[int]]:
    """All n image indices shuffled and cut into numbers of 2-4 digits."""
    order = rng.permutation(n).tolist()
    groups = []
    while order:
        size = int(rng.integers(2, 5))
        groups.append(order[:size])
        order = order[size:]
    return groups


LINE_FRAME = (640, 480)  # numbers are filmed whole: the desk and small sheets need the full view
LINE_FRAMES_PER_SCENE = 3  # frames of one held sheet (shake, noise, exposure differ); a scene costs most
LINE_STYLE_SHARE = 0.25  # of the 1s, 4s and 7s, drawn in a synth style
LINE_CLASSIC_SHARE = 0.15  # scenes drawn in the classic (narrower) conditions
LINE_END_SLACK = 0.35  # of the shortest digit's height: how far the pieces' ends may be from the ink's
MAX_LINE_DIGITS = 6


def filmed_lines(
    x: np.ndarray, y: np.ndarray, scenes: int, seed: int, workers: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Numbers of 1-6 digits of `x` (uint8 (N, 28, 28), labels `y`) filmed by the rendered webcam
    and read by number mode's live path into line images (`sequence.line_input`).

    Returns (lines float32 (M, LINE_HEIGHT, LINE_WIDTH), labels int32 (M, MAX_LINE_DIGITS)
    padded with -1). A frame whose pieces do not span the number's ink (the segmenter lost a
    digit: `_spans_the_number`) is left out: its label would name ink it cannot see.
    """
    streams = np.random.SeedSequence(seed).spawn(max(1, workers or os.cpu_count() or 1))
    share = [scenes // len(streams) + (k < scenes % len(streams)) for k in range(len(streams))]
    tasks = [(x, y, n, stream) for n, stream in zip(share, streams, strict=True) if n]
    log.info("filming %d number scenes on %d process(es)", scenes, len(tasks))
    if len(tasks) <= 1:
        parts = [_film_lines(task) for task in tasks]
    else:
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(len(tasks), mp_context=context) as pool:
            parts = list(pool.map(_film_lines, tasks))
    empty = _film_lines((x, y, 0, streams[0]))  # right shapes and dtypes when nothing was filmed
    return tuple(np.concatenate([e] + [p[k] for p in parts]) for k, e in enumerate(empty))


def _film_lines(task) -> tuple[np.ndarray, np.ndarray]:
    """One worker's share of `filmed_lines`."""
    x, y, scenes, stream = task
    cv2.setNumThreads(1)
    rng = np.random.default_rng(stream)
    by_class = [np.flatnonzero(y == d) for d in range(10)]
    styled = {label: name for name, label in synth.STYLES.items()}
    lines, labels = [], []
    for _ in range(scenes):
        classic = rng.random() < LINE_CLASSIC_SHARE
        count = 1 if rng.random() < 0.1 else int(rng.integers(2, 5 if classic else MAX_LINE_DIGITS + 1))
        digits = rng.integers(0, 10, count)
        if classic:
            cond = synth.random_conditions(rng, synth.CLASSIC_RATES)
        else:
            cond = synth.random_number_conditions(rng)
        images = [
            synth.style_digit(styled[d], rng)
            if d in styled and not classic and rng.random() < LINE_STYLE_SHARE
            else x[rng.choice(by_class[d])]
            for d in digits
        ]
        clip = synth.render_clip(images, cond, LINE_FRAMES_PER_SCENE, rng, LINE_FRAME, preprocess.NUMBER_BOX)
        for frame in clip.frames:
            _, mask, _, found = preprocess.read_box(frame, preprocess.NUMBER_BOX, multi=True)
            rects = [d.rect for d in found]
            if not rects or not _spans_the_number(rects, clip.layout, mask.shape[1]):
                continue
            line, _ = sequence.line_input(mask, rects)
            lines.append(line)
            labels.append(list(digits) + [-1] * (MAX_LINE_DIGITS - count))
    return (
        np.asarray(lines, np.float32).reshape(-1, sequence.LINE_HEIGHT, sequence.LINE_WIDTH),
        np.asarray(labels, np.int32).reshape(-1, MAX_LINE_DIGITS),
    )


def _spans_the_number(rects, layout: synth.Layout, box_width: int) -> bool:
    """Whether the pieces span the number's ink from end to end, within a slack, without a gap
    wider than the number's widest (a digit lost in the middle)."""
    left_ink, _, right_margin, _ = layout.box_margins
    slack = LINE_END_SLACK * min(layout.digit_heights)
    left = max(0.0, left_ink)
    right = box_width - max(0.0, right_margin)
    if abs(min(r.x for r in rects) - left) > slack or abs(max(r.x + r.w for r in rects) - right) > slack:
        return False
    ordered = sorted(rects, key=lambda r: r.x)
    widest = max(layout.gaps, default=0) + slack
    return all(b.x - (a.x + a.w) <= widest for a, b in itertools.pairwise(ordered))

"""Where to look: the centred box of a frame, and any camera frame as 8-bit gray."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Rect:
    """An axis-aligned box in pixel coordinates."""

    x: int
    y: int
    w: int
    h: int

    def slices(self) -> tuple[slice, slice]:
        return slice(self.y, self.y + self.h), slice(self.x, self.x + self.w)

    def moved(self, dx: int, dy: int) -> Rect:
        return Rect(self.x + dx, self.y + dy, self.w, self.h)

    def overlap(self, other: Rect) -> int:
        """The area (px) the two rects share."""
        w = min(self.x + self.w, other.x + other.w) - max(self.x, other.x)
        h = min(self.y + self.h, other.y + other.h) - max(self.y, other.y)
        return max(0, w) * max(0, h)

    def gap_x(self, other: Rect) -> int:
        """The columns between the two rects side by side (negative where they overlap)."""
        return max(other.x - (self.x + self.w), self.x - (other.x + other.w))

    def clipped(self, shape: tuple[int, ...]) -> Rect | None:
        """The rect cut to a (H, W) image (a rect read past the box's edge, or rounded from an HD
        box's pixels, can overstep it), or None if nothing of it is inside."""
        x, y = max(self.x, 0), max(self.y, 0)
        w, h = min(self.x + self.w, shape[1]) - x, min(self.y + self.h, shape[0]) - y
        return Rect(x, y, w, h) if w > 0 and h > 0 else None

    def touches_edge(self, shape: tuple[int, ...]) -> bool:
        """Whether the rect reaches the border of a (H, W) image it lies in."""
        return self.x <= 0 or self.y <= 0 or self.x + self.w >= shape[1] or self.y + self.h >= shape[0]


def centred_box(frame_shape: tuple[int, ...], size: tuple[int, int]) -> Rect:
    """The (w, h) box centred in a frame of `frame_shape`, shrunk to fit if the frame is small."""
    fh, fw = frame_shape[:2]
    w, h = min(size[0], fw), min(size[1], fh)
    return Rect((fw - w) // 2, (fh - h) // 2, w, h)


def to_gray(frame: np.ndarray) -> np.ndarray:
    """Any camera frame (gray/BGR/BGRA, any channel count; uint8, uint16 or float) -> uint8 gray (H, W).

    Floats are taken to be in [0, 1]; uint16 in [0, 65535]. Cameras and image files give
    all of these, and everything downstream wants plain 8-bit gray. A 0-size frame gives a
    0-size gray image.
    """
    img = np.asarray(frame)
    if img.ndim == 3:
        img = colour_channels(img)
    if img.ndim in (2, 3) and img.size == 0:
        return np.zeros(img.shape[:2], np.uint8)
    if img.ndim == 3:
        code = cv2.COLOR_BGRA2GRAY if img.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        if img.dtype not in (np.uint8, np.uint16, np.float32):
            img = img.astype(np.float32)
        img = cv2.cvtColor(img, code)
    if img.ndim != 2:
        raise ValueError(f"expected a 2-D or 3-D image, got shape {img.shape}")
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.uint16:
        return (img >> 8).astype(np.uint8)
    if img.dtype == np.bool_:
        return img.astype(np.uint8) * 255
    if np.issubdtype(img.dtype, np.integer):
        return np.clip(img, 0, 255).astype(np.uint8)
    img = np.nan_to_num(img.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
    return (np.clip(img, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def colour_channels(img: np.ndarray) -> np.ndarray:
    """(H, W, C) -> gray (H, W) or colour (H, W, 3 or 4): a second channel is alpha, a fifth on is dropped."""
    channels = img.shape[2]
    if channels == 0:
        return np.zeros(img.shape[:2], np.uint8)
    if channels <= 2:
        return img[:, :, 0]
    return img[:, :, :4] if channels > 4 else img

"""live-digits: read handwritten digits held up to a webcam, live."""

__version__ = "0.1.0"

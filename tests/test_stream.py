"""Stream URLs: a real MJPEG-over-HTTP camera on localhost, read through the real CLI."""

import http.server
import json
import socket
import threading
import time

import cv2
import pytest
from conftest import CLIP, run_cli
from test_cli_errors import assert_one_line_error

from live_digits import sources


def clip_jpegs() -> list[bytes]:
    """The fixture clip (a 7 on ruled paper), frame by frame as JPEG, as a phone app sends it."""
    capture, jpegs = cv2.VideoCapture(str(CLIP)), []
    while (frame := capture.read()[1]) is not None:
        jpegs.append(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
    capture.release()
    return jpegs


def mjpeg_handler(jpegs: list[bytes], fps: float, limit: int | None):
    """An MJPEG camera like a phone app's: JPEG parts of one multipart/x-mixed-replace
    response at `fps`, the clip looped; after `limit` frames the connection is closed."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path != "/video":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            n = 0
            try:
                while limit is None or n < limit:
                    jpeg = jpegs[n % len(jpegs)]
                    head = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpeg)
                    self.wfile.write(head + jpeg + b"\r\n")
                    self.wfile.flush()
                    n += 1
                    time.sleep(1 / fps)
            except (BrokenPipeError, ConnectionResetError):  # the reader went away
                pass

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def mjpeg_server(request):
    """Serve the clip on 127.0.0.1 from a real thread; yields the stream's URL."""
    limit = getattr(request, "param", None)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), mjpeg_handler(clip_jpegs(), 30.0, limit))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/video"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_digits_are_read_from_an_mjpeg_stream(mjpeg_server):
    proc = run_cli("--source", mjpeg_server, "--no-gui", "--max-frames", "30", timeout=60)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["frame"] for r in rows] == list(range(30))
    assert rows[-1]["digit"] == 7 and rows[-1]["confidence"] > 0.7
    assert sum(r["digit"] == 7 for r in rows) >= 20 and all(r["digit"] in (7, None) for r in rows)


@pytest.mark.parametrize("mjpeg_server", [25], indirect=True)
def test_a_stream_that_stops_is_a_one_line_error_after_its_frames(mjpeg_server):
    proc = run_cli("--source", mjpeg_server, "--no-gui", timeout=60)
    assert_one_line_error(proc, "stopped sending frames", "127.0.0.1")
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert 0 < len(rows) <= 25 and rows[-1]["digit"] == 7  # what came before the drop was read and written


def test_a_stream_that_cannot_be_opened_is_a_one_line_error(mjpeg_server):
    missing_path = mjpeg_server.replace("/video", "/nothing-here")
    assert_one_line_error(run_cli("--source", missing_path, "--no-gui", timeout=60), "cannot open stream")
    port = free_port()
    proc = run_cli("--source", f"rtsp://me:secret@127.0.0.1:{port}/cam", "--no-gui", timeout=60)
    assert_one_line_error(proc, "cannot open stream rtsp://me:***@127.0.0.1")
    assert "secret" not in proc.stderr
    proc = run_cli("--source", f"http://127.0.0.1:{port}/video", "--no-gui", timeout=60)
    assert_one_line_error(proc, "cannot open stream", "(hint: check the URL")


def test_size_and_fps_are_for_cameras_only(clip):
    proc = run_cli("--source", str(clip[0]), "--no-gui", "--size", "1280x720")
    assert_one_line_error(proc, "--size and --fps", code=2)
    assert_one_line_error(run_cli("--size", "1280x", "--no-gui"), "WIDTHxHEIGHT", code=2)
    assert_one_line_error(run_cli("--fps", "0", "--no-gui"), "--fps", code=2)


@pytest.mark.parametrize(
    "url, shown",
    [
        ("rtsp://me:pw@cam.local:554/live", "rtsp://me:***@cam.local:554/live"),
        ("http://192.168.1.7:8080/video", "http://192.168.1.7:8080/video"),
        ("http://cam/a@b", "http://cam/a@b"),  # an @ in the path is not a password
    ],
)
def test_passwords_never_reach_messages(url, shown):
    assert sources.redact(url) == shown

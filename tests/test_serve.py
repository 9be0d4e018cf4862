"""The browser page (scripts/serve.py): the WebSocket protocol and its bad input through FastAPI's test client,
then the real thing: Debian's Chromium, driven by Playwright, with a fake camera playing FER-2013 faces."""

from __future__ import annotations

import contextlib
import shutil
import socket
import struct
import threading
import time
import zlib

import cv2
import numpy as np
import pytest
from hydra import compose, initialize_config_dir

from conftest import fer2013_faces, scene
from fer.config import CONFIG_DIR
from fer.errors import ConfigError

pytest.importorskip("fastapi", reason="the web page is the optional extra fer[web]")
from fastapi.testclient import TestClient  # noqa: E402

from fer.apps import serve  # noqa: E402
from fer.apps.serve import create_app  # noqa: E402
from fer.inference import Recognizer  # noqa: E402
from fer.inference.detectors import HaarDetector  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def serve_config(*overrides: str):
    with initialize_config_dir(CONFIG_DIR, version_base="1.3"):
        return compose("serve", overrides=list(overrides))


@pytest.fixture(scope="module")
def happy_scenes(fer2013_zip) -> list[np.ndarray]:
    """640x480 frames of one clearly happy FER-2013 face (PrivateTest), which the cascade finds and the fast model
    calls happy with high confidence, drifting a little from frame to frame."""
    recognizer, detector = Recognizer(model="fast"), HaarDetector(min_size=60, scale_factor=1.2)
    for cls, face in fer2013_faces(fer2013_zip, per_class=40):
        if cls != "happy":
            continue
        frames = [scene(face, 200 + 3 * i, 120 + i, side=220, seed=1) for i in range(20)]
        found = recognizer.faces(frames[0], detector(frames[0]))
        if len(found) == 1 and found[0].label == "happy" and found[0].confidence > 0.9:
            return frames
    pytest.fail("no clearly happy FER-2013 face the cascade finds")


def jpeg(frame: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def test_page_info_and_emoji_are_served_and_paths_are_refused():
    client = TestClient(create_app(serve_config()))
    assert "getUserMedia" in client.get("/").text
    info = client.get("/info").json()
    assert info["classes"] == ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
    assert client.get("/emoji/happy.png").headers["content-type"] == "image/png"
    assert client.get("/emoji/..%2F..%2Fmodel.png").status_code == 404


def test_frames_come_back_with_faces_and_bad_frames_with_a_message_on_a_socket_that_keeps_working(happy_scenes):
    client = TestClient(create_app(serve_config("max_frame_bytes=200000", "max_side=1000")))
    with client.websocket_connect("/ws") as ws:
        ws.send_bytes(jpeg(happy_scenes[0]))
        reply = ws.receive_json()
        assert [face["label"] for face in reply["faces"]] == ["happy"] and reply["width"] == 640
        assert sum(reply["faces"][0]["probabilities"].values()) == pytest.approx(1, abs=1e-3)
        ws.send_text("hello")
        assert "binary message" in ws.receive_json()["error"]
        ws.send_bytes(b"\x89PNG not really")
        assert "not an image" in ws.receive_json()["error"]
        ws.send_bytes(np.random.default_rng(0).integers(0, 256, 300_000, dtype=np.uint8).tobytes())
        assert "larger than max_frame_bytes" in ws.receive_json()["error"]
        ws.send_bytes(jpeg(cv2.resize(happy_scenes[0], (1280, 960))))
        assert "larger than max_side=1000" in ws.receive_json()["error"]
        ws.send_bytes(jpeg(happy_scenes[1]))  # still serving this client
        assert ws.receive_json()["faces"][0]["label"] == "happy"


def png_declaring(side: int) -> bytes:
    """A black 1-bit PNG of side x side pixels: a few kilobytes that decode to side**2 * 3 bytes."""
    packer, row = zlib.compressobj(9), b"\x00" * (1 + (side + 7) // 8)
    body = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [5000, 30000])
def test_a_frame_declaring_a_huge_size_is_refused_before_a_pixel_is_decoded(monkeypatch, side):
    bomb = png_declaring(side)
    assert len(bomb) < 200_000  # under max_frame_bytes: only its declared size can stop it
    monkeypatch.setattr(serve, "decode", lambda data: pytest.fail("decoded a frame it should have refused"))
    with pytest.raises(serve.FrameError, match=f"{side}x{side} is larger than max_side|decompression bomb"):
        serve.decode_frame(bomb, max_bytes=2**21, max_side=1920)


def test_each_tab_follows_its_own_faces_and_a_socket_closed_mid_frame_harms_no_one(happy_scenes):
    client = TestClient(create_app(serve_config()))
    with client.websocket_connect("/ws") as first:
        first.send_bytes(jpeg(happy_scenes[0]))
        assert first.receive_json()["faces"][0]["track"] == 0
        with client.websocket_connect("/ws") as second:  # its own tracker: its first face is track 0 too
            second.send_bytes(jpeg(happy_scenes[0]))
            assert second.receive_json()["faces"][0]["track"] == 0
        with client.websocket_connect("/ws") as leaving:
            leaving.send_bytes(jpeg(happy_scenes[2]))  # closed before the answer is read
        first.send_bytes(jpeg(happy_scenes[1]))
        assert first.receive_json()["faces"][0]["track"] == 0  # the same face, followed


def write_y4m(path, frames: list[np.ndarray], fps: int = 10) -> None:
    """The raw YUV 4:2:0 video Chromium's fake camera plays (--use-file-for-fake-video-capture)."""
    height, width = frames[0].shape[:2]
    with open(path, "wb") as handle:
        handle.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in frames:
            handle.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420).tobytes())


@contextlib.contextmanager
def serving(*overrides: str):
    """The page's server on a free local port, in a thread of this process; yields its address."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(serve_config(*overrides)), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here (apt-get install chromium; .ci/run installs it)")
def test_the_page_in_chromium_shows_the_happy_face_of_a_fake_camera(happy_scenes, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api", reason="Playwright is part of fer[test]")
    video = tmp_path / "camera.y4m"
    write_y4m(video, happy_scenes)
    with serving() as address, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}", "--no-sandbox"])
        page = browser.new_page(viewport={"width": 900, "height": 700})
        page.goto(address)
        page.click("#camera")
        page.wait_for_selector("#status[data-labels='happy']", timeout=60_000)
        page.wait_for_timeout(1500)  # a few more round trips, so the FPS and bars are drawn
        shot = tmp_path / "serve_page.png"
        page.screenshot(path=str(shot))
        status = page.inner_text("#status")
        assert page.inner_text("#error") == ""
        browser.close()
    assert status.startswith("happy") and "ms a round trip" in status
    image = cv2.imread(str(shot))
    assert image is not None and image.std() > 20  # the video and overlay were drawn, not a blank page
    print(f"screenshot: {shot}; status: {status}")


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here (apt-get install chromium; .ci/run installs it)")
def test_the_page_takes_an_uploaded_photo_and_names_a_file_it_cannot_read(happy_scenes, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api", reason="Playwright is part of fer[test]")
    photo, broken = tmp_path / "photo.jpg", tmp_path / "broken.jpg"
    cv2.imwrite(str(photo), happy_scenes[3])
    broken.write_bytes(b"not a jpeg at all")
    with serving() as address, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(address)
        page.set_input_files("#file", str(photo))
        page.wait_for_selector("#status[data-labels='happy']", timeout=30_000)
        page.set_input_files("#file", str(broken))
        page.wait_for_function("document.getElementById('error').textContent.includes('broken.jpg')", timeout=30_000)
        browser.close()


def test_a_busy_port_or_a_foreign_host_is_named_before_the_model_loads():
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(ConfigError, match=rf"host=127.0.0.1 port={port}: cannot listen there"):
            serve.check_address("127.0.0.1", port)
    serve.check_address("127.0.0.1", port)  # free again
    with pytest.raises(ConfigError, match="host=999.1.1.1: not a name or address"):
        serve.check_address("999.1.1.1", 8000)

"""create_app(cfg): the live emoji overlay as a web page. The browser captures its camera (or plays an uploaded
photo or video), sends downscaled JPEG frames over a WebSocket, and draws the faces that come back.

Each connection (each browser tab) gets its own ``LiveStream``: its own face following and smoothing;
the model is shared. A connection keeps only the newest frame that arrived while the previous one was
being classified, so latency stays flat when the server is slower than the camera. A bad frame is
answered with an error message on that connection; the server goes on serving everyone.
"""

from __future__ import annotations

import asyncio
import io
import logging
import socket
import threading
import time
from pathlib import Path

import numpy as np
from fastapi import FastAPI, HTTPException, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, HTMLResponse
from hydra.utils import instantiate
from omegaconf import DictConfig
from PIL import Image, UnidentifiedImageError

from fer.data.readers import decode
from fer.errors import ConfigError
from fer.inference.emoji import BUNDLED_EMOJI_DIR
from fer.inference.live import LiveStream
from fer.inference.overlay import COLOURS
from fer.inference.recognizer import Recognizer

log = logging.getLogger(__name__)
PAGE = Path(__file__).resolve().parent.parent / "assets" / "web" / "index.html"


class FrameError(ValueError):
    """A frame the server cannot use; the message goes back to the page that sent it."""


def decode_frame(data: bytes | None, max_bytes: int, max_side: int) -> np.ndarray:
    if data is None:
        raise FrameError("expected a frame as a binary message (JPEG or PNG bytes), got text")
    if len(data) > max_bytes:
        raise FrameError(f"frame of {len(data) / 2**20:.1f} MB is larger than max_frame_bytes "
                         f"({max_bytes / 2**20:.1f} MB): send a downscaled JPEG")
    check_declared_size(data, max_side)
    frame = decode(data)
    if frame is None:
        raise FrameError(f"a frame of {len(data)} bytes that is not an image (expected JPEG or PNG)")
    check_side(frame.shape[1], frame.shape[0], max_side)
    return frame


def check_declared_size(data: bytes, max_side: int) -> None:
    """Refuse a frame whose header declares more than ``max_side`` before any pixel is decoded: a PNG or JPEG
    of a few kilobytes can declare gigapixels, which decoding would allocate. Formats Pillow does not know
    are left to the decoder (and the same check after it)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except Image.DecompressionBombError as err:
        raise FrameError(f"{err}: send a downscaled frame") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return
    check_side(width, height, max_side)


def check_side(width: int, height: int, max_side: int) -> None:
    if max(width, height) > max_side:
        raise FrameError(f"frame of {width}x{height} is larger than max_side={max_side}: send a downscaled frame")


def face_records(faces) -> list[dict]:
    return [{"box": list(face.box), "label": face.label, "confidence": round(face.confidence, 4),
             "probabilities": {k: round(v, 4) for k, v in face.probabilities().items()}, "track": face.track}
            for face in faces]


def create_app(cfg: DictConfig) -> FastAPI:
    """The model is loaded here, before the server starts: a model that fails to load stops it with that error."""
    recognizer = Recognizer.from_config(cfg)
    classify_lock = threading.Lock()  # one frame at a time through the model: its thread count is the app's
    page = PAGE.read_text()
    colours = {name: "#" + "".join(f"{channel:02x}" for channel in reversed(bgr)) for name, bgr in COLOURS.items()}
    app = FastAPI(title="fer: live emotions in the browser", docs_url=None, redoc_url=None)

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return page

    @app.get("/info")
    def info() -> dict:
        metadata = getattr(recognizer.module, "metadata", {}) or {}
        return {"classes": recognizer.classes, "colours": colours, "model": str(cfg.model_file),
                "backend": cfg.backend, "test_acc": metadata.get("test_acc"), "max_side": cfg.max_side}

    @app.get("/emoji/{name}.png")
    def emoji(name: str) -> FileResponse:
        if name not in recognizer.classes:  # names, never paths
            raise HTTPException(404, f"no emoji for {name!r}")
        return FileResponse(Path(cfg.emoji_dir or BUNDLED_EMOJI_DIR) / f"{name}.png", media_type="image/png")

    @app.websocket("/ws")
    async def frames(socket: WebSocket) -> None:
        await socket.accept()
        stream = LiveStream(recognizer, detector=instantiate(cfg.detector), smoothing=cfg.smoothing)
        client = f"{socket.client.host}:{socket.client.port}" if socket.client else "a client"
        newest: dict = {"message": None, "closed": False, "dropped": 0}
        arrived = asyncio.Event()

        async def receive() -> None:
            while True:
                message = await socket.receive()
                if message["type"] == "websocket.disconnect":
                    newest["closed"] = True
                    arrived.set()
                    return
                if newest["message"] is not None:
                    newest["dropped"] += 1  # a stale frame, replaced by the newer one
                newest["message"] = message
                arrived.set()

        def process(message: dict) -> dict:
            start = time.perf_counter()
            try:
                frame = decode_frame(message.get("bytes"), cfg.max_frame_bytes, cfg.max_side)
            except FrameError as err:
                log.warning("%s: %s", client, err)
                return {"error": str(err)}
            with classify_lock:
                faces = stream(frame, draw=False)
            return {"faces": face_records(faces), "width": frame.shape[1], "height": frame.shape[0],
                    "server_ms": round(1000 * (time.perf_counter() - start), 2), "dropped": newest["dropped"]}

        async def answer() -> None:
            while True:
                await arrived.wait()
                arrived.clear()
                if newest["closed"]:
                    return
                message, newest["message"] = newest["message"], None
                if message is not None:
                    await socket.send_json(await asyncio.to_thread(process, message))

        receiver = asyncio.create_task(receive())
        try:
            await answer()
        except (WebSocketDisconnect, RuntimeError) as err:  # closed while a frame was in flight
            log.info("%s closed the connection mid-frame (%s)", client, type(err).__name__)
        finally:
            receiver.cancel()
        log.info("%s disconnected after %d dropped stale frames", client, newest["dropped"])

    return app


def check_address(host: str, port: int) -> None:
    """A host that is not this machine's or a port another program holds is the user's one-line error,
    found before the model loads (uvicorn would log it and exit without naming the option)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as err:
        raise ConfigError(f"host={host}: not a name or address this machine can resolve ({err.strerror})") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: a listener still blocks
        try:
            probe.bind(address)
        except OSError as err:
            raise ConfigError(f"host={host} port={port}: cannot listen there ({err.strerror}); another server may "
                              "hold the port (choose another port=), or the address is not this machine's") from None


def serve(cfg: DictConfig) -> None:
    import uvicorn

    check_address(cfg.host, cfg.port)
    app = create_app(cfg)
    if cfg.host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("serving on %s: anyone who can reach this address and port can use the page and send it "
                    "frames; the camera images stay in their browsers except the frames sent here", cfg.host)
    log.info("open http://%s:%d/ in a browser (Ctrl-C stops the server)", cfg.host, cfg.port)
    # frames over max_frame_bytes are answered with an error; messages over 4x that close the socket (1009)
    uvicorn.run(app, host=cfg.host, port=cfg.port, log_level="warning", ws_max_size=4 * cfg.max_frame_bytes)

"""The overlay and the headless video sink as units: what they draw and write, on synthetic frames."""

from __future__ import annotations

import csv
from dataclasses import replace

import cv2
import numpy as np
import pytest

from fer.inference.emoji import load_emoji
from fer.inference.overlay import COLOURS, blend, draw_faces, emoji_corner, legible
from fer.inference.recognizer import Face
from fer.inference.video import HeadlessSink
from fer.labels import FER2013_CLASSES

CLASSES = list(FER2013_CLASSES)


def face(label: str, box=(200, 150, 120, 120), detected: bool = True) -> Face:
    probs = np.full(len(CLASSES), 0.02, np.float32)
    probs[CLASSES.index(label)] = 1 - 0.02 * (len(CLASSES) - 1)
    return Face(box, probs, CLASSES, detected)


def test_draw_faces_draws_the_box_in_the_class_colour_the_emoji_and_the_bars():
    frame = np.zeros((480, 640, 3), np.uint8)
    draw_faces(frame, [face("happy")], load_emoji(None, CLASSES))
    x, y, w, h = 200, 150, 120, 120
    assert tuple(frame[y + h // 2, x]) == COLOURS["happy"]  # the box's left edge
    assert frame[y: y + 60, x + w + 6: x + w + 66].any()  # the emoji right of the box
    assert frame[480 - 16 * len(CLASSES) - 8:, :200].any()  # the probability bars, bottom left
    assert not frame[300:420, 400:640].any()  # and nothing elsewhere


def test_a_tilted_face_gets_a_box_tilted_with_it():
    """roll 30 (counter-clockwise): the box's corners turn with the face; the upright box's corners stay dark."""
    frame = np.zeros((480, 640, 3), np.uint8)
    draw_faces(frame, [replace(face("sad"), roll=30.0)], bars=False)
    centre, half = np.array([260.0, 210.0]), 60.0
    turn = np.array([[np.cos(np.radians(30)), np.sin(np.radians(30))],
                     [-np.sin(np.radians(30)), np.cos(np.radians(30))]])  # counter-clockwise on screen (y down)
    for corner in ([-half, -half], [half, -half], [half, half], [-half, half]):
        x, y = np.round(centre + turn @ corner).astype(int)
        assert frame[y - 2: y + 3, x - 2: x + 3].any(), (x, y)  # a tilted corner is drawn
    assert not frame[150:155, 200:205].any() and not frame[265:270, 315:320].any()  # upright corners are not


def test_emoji_goes_left_of_a_box_at_the_right_edge_and_inside_a_box_that_fills_the_frame():
    frame = np.zeros((480, 640, 3), np.uint8)
    assert emoji_corner(frame, (560, 100, 70, 70), 48) == (560 - 48 - 6, 100)
    assert emoji_corner(frame, (0, 0, 640, 480), 48) == (640 - 48 - 4, 28)


def test_blend_is_clipped_to_the_frame_and_respects_alpha():
    frame = np.full((10, 10, 3), 100, np.uint8)
    icon = np.zeros((4, 4, 4), np.uint8)
    icon[..., 2], icon[..., 3] = 255, 255  # opaque red
    icon[0, 0, 3] = 0  # one transparent pixel
    blend(frame, icon, 8, 8)  # only the top-left 2x2 of the icon lands in the frame
    assert tuple(frame[8, 8]) == (100, 100, 100) and tuple(frame[9, 9]) == (0, 0, 255)
    assert tuple(frame[7, 7]) == (100, 100, 100)


def test_legible_scales_small_frames_and_their_boxes_and_leaves_large_ones():
    small, faces = legible(np.zeros((48, 48, 3), np.uint8), [face("sad", box=(0, 0, 48, 48))])
    assert small.shape[:2] == (360, 360) and faces[0].box == (0, 0, 360, 360)
    big = np.zeros((480, 640, 3), np.uint8)
    assert legible(big, [])[0] is big


def test_headless_sink_writes_every_frame_and_a_row_per_face(tmp_path):
    sink = HeadlessSink(tmp_path / "out.mp4", fps=10, classes=CLASSES)
    frames = [np.full((120, 160, 3), 40 * i, np.uint8) for i in range(5)]
    for i, frame in enumerate(frames):
        sink.write(frame, [face("angry", (10, 10, 50, 50))] * (i % 3))  # 0, 1, 2, 0, 1 faces
    sink.close()
    capture, decoded = cv2.VideoCapture(str(tmp_path / "out.mp4")), 0
    while capture.read()[0]:
        decoded += 1
    assert decoded == 5
    with (tmp_path / "out.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["frame"]) for r in rows] == [1, 2, 2, 4] and {r["label"] for r in rows} == {"angry"}
    assert list(rows[0])[-len(CLASSES):] == CLASSES


def test_headless_sink_never_writes_over_its_input_or_an_existing_file(tmp_path):
    source = tmp_path / "in.mp4"
    source.write_bytes(b"the user's video")
    with pytest.raises(Exception, match="overwrite the input"):
        HeadlessSink(source, fps=10, classes=CLASSES, source=source)
    (tmp_path / "old.csv").write_text("kept")
    with pytest.raises(Exception, match="exists"):
        HeadlessSink(tmp_path / "old.mp4", fps=10, classes=CLASSES)
    assert source.read_bytes() == b"the user's video" and (tmp_path / "old.csv").read_text() == "kept"

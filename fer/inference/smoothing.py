"""Per-face smoothing across video frames, so labels do not flicker."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from fer.inference.detectors import Box
from fer.inference.recognizer import Face


def iou(a: Box, b: Box) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = w * h
    return inter / (aw * ah + bw * bh - inter) if inter else 0.0


@dataclass
class _Track:
    id: int
    box: Box
    probs: np.ndarray
    missing: int = 0


class FaceTracker:
    """Matches faces to the previous frame's by box overlap and keeps an exponential moving average
    of each face's probabilities (``alpha`` = weight of the past). Unmatched tracks live on for
    ``max_missing`` frames, so a face lost for a frame keeps its history."""

    def __init__(self, alpha: float = 0.7, min_iou: float = 0.3, max_missing: int = 5) -> None:
        self.alpha, self.min_iou, self.max_missing = alpha, min_iou, max_missing
        self.tracks: list[_Track] = []
        self._next_id = 0

    def update(self, faces: list[Face]) -> list[Face]:
        pairs = sorted(((iou(t.box, f.box), ti, fi) for ti, t in enumerate(self.tracks)
                        for fi, f in enumerate(faces)), reverse=True)
        matched_tracks, matched_faces, smoothed = set(), {}, {}
        for overlap, ti, fi in pairs:
            if overlap < self.min_iou or ti in matched_tracks or fi in matched_faces:
                continue
            matched_tracks.add(ti)
            matched_faces[fi] = ti
        for fi, face in enumerate(faces):
            if fi in matched_faces:
                track = self.tracks[matched_faces[fi]]
                track.probs = self.alpha * track.probs + (1 - self.alpha) * face.probs
                track.box, track.missing = face.box, 0
            else:
                track = _Track(self._next_id, face.box, face.probs.copy())
                self._next_id += 1
                self.tracks.append(track)
                matched_tracks.add(len(self.tracks) - 1)
            smoothed[fi] = replace(face, probs=track.probs.copy(), track=track.id)
        for ti, track in enumerate(self.tracks):
            if ti not in matched_tracks:
                track.missing += 1
        self.tracks = [t for t in self.tracks if t.missing <= self.max_missing]
        return [smoothed[i] for i in range(len(faces))]

"""Emotion class names: the one place where label spellings and integer orders are decided.

Every reader maps its dataset's own names onto the canonical names below and sorts them
alphabetically, so a model's class ``i`` means the same emotion whichever format it came from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

FER2013_CLASSES: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
"""The seven FER-2013 emotions, in the alphabetical (Kaggle folder) order."""

CANONICAL_CLASSES: tuple[str, ...] = tuple(sorted((*FER2013_CLASSES, "contempt")))
"""All emotions the framework knows (AffectNet-style sets add contempt)."""

FER2013_CSV_ORDER: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
"""Meaning of the integer ``emotion`` column of the original fer2013.csv (0 Angry .. 6 Neutral)."""

AFFECTNET_ORDER: tuple[str, ...] = ("neutral", "happy", "sad", "surprise", "fear", "disgust", "angry", "contempt")
"""Meaning of AffectNet's integer expression labels 0..7."""

INTEGER_ORDERS: dict[str, tuple[str, ...]] = {
    "canonical": CANONICAL_CLASSES,
    "fer2013": FER2013_CLASSES,
    "fer2013_csv": FER2013_CSV_ORDER,
    "affectnet": AFFECTNET_ORDER,
}
"""Named integer label orders, for sources that store labels as bare integers."""

ALIASES: dict[str, str] = {
    "anger": "angry",
    "angry": "angry",
    "mad": "angry",
    "contempt": "contempt",
    "contemptuous": "contempt",
    "disgust": "disgust",
    "disgusted": "disgust",
    "fear": "fear",
    "fearful": "fear",
    "afraid": "fear",
    "scared": "fear",
    "happy": "happy",
    "happiness": "happy",
    "joy": "happy",
    "neutral": "neutral",
    "calm": "neutral",
    "sad": "sad",
    "sadness": "sad",
    "surprise": "surprise",
    "surprised": "surprise",
}

EMOJI: dict[str, str] = {
    "angry": "\N{POUTING FACE}",
    "contempt": "\N{UNAMUSED FACE}",
    "disgust": "\N{NAUSEATED FACE}",
    "fear": "\N{FEARFUL FACE}",
    "happy": "\N{GRINNING FACE WITH SMILING EYES}",
    "neutral": "\N{NEUTRAL FACE}",
    "sad": "\N{CRYING FACE}",
    "surprise": "\N{FACE WITH OPEN MOUTH}",
}
"""The emoji shown for each class (rendered to PNG assets for the overlay)."""


def canonical_name(name: str) -> str:
    """Map any known spelling ('Happiness', 'surprised', ' Anger ') to its canonical class name."""
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return ALIASES[key]
    except KeyError:
        raise ValueError(
            f"unknown emotion label {name!r}; known names: {sorted(set(ALIASES))}"
        ) from None


def canonical_classes(names: Iterable[str]) -> tuple[str, ...]:
    """Canonical, alphabetically sorted class list of a dataset; rejects two names for one class."""
    seen: dict[str, str] = {}
    for name in names:
        canon = canonical_name(name)
        if canon in seen and seen[canon] != name:
            raise ValueError(f"labels {seen[canon]!r} and {name!r} both mean {canon!r}")
        seen[canon] = name
    return tuple(sorted(seen))


def integer_order(order: str | Sequence[str]) -> tuple[str, ...]:
    """Resolve a named integer order ('fer2013_csv', 'affectnet', ...) or an explicit name list."""
    if isinstance(order, str):
        if order not in INTEGER_ORDERS:
            raise ValueError(f"unknown label order {order!r}; choose one of {sorted(INTEGER_ORDERS)} or give a list")
        return INTEGER_ORDERS[order]
    return tuple(canonical_name(n) for n in order)

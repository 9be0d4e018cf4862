"""Files written whole or not at all: a killed or failed write never leaves half a file, and never costs the
file that was there before (a data cache, the teachers' answers, an exported model being replaced)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


@contextmanager
def written_whole(path: str | Path) -> Iterator[Path]:
    """Yields a staging path with ``path``'s name in a temporary folder beside it; when the block ends without an
    error, the staged file replaces ``path`` in one atomic rename, so a failed write never clobbers the old file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=f".{path.name}.") as folder:
        staged = Path(folder) / path.name
        yield staged
        os.replace(staged, path)


@contextmanager
def opened_whole(path: str | Path, mode: str = "wb", **options) -> Iterator[IO]:
    """``written_whole``'s staged file, open: for writers that take a file object (numpy, given a name, would
    add its own suffix to it)."""
    with written_whole(path) as staged, staged.open(mode, **options) as handle:
        yield handle

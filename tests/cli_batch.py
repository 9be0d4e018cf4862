"""Run many command lines of scripts/ in one Python process (python tests/cli_batch.py <cases.json> <out.json>).

Each case runs as ``python scripts/<script> <args>`` would (``runpy`` as __main__, its own sys.argv,
from the repository root), with its exit status and stderr recorded; importing torch and Lightning
once instead of once per case makes the bad-input battery minutes shorter.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import runpy
import sys
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_case(script: str, args: list[str]) -> dict:
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    stderr = io.StringIO()
    sys.argv = [str(REPO / "scripts" / script), *args]
    code = 0
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        try:
            runpy.run_path(sys.argv[0], run_name="__main__")
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        except BaseException:  # noqa: BLE001 - a crash is a result here: the test names it
            traceback.print_exc()
            code = 1
    return {"code": code, "stderr": stderr.getvalue()}


def main() -> None:
    cases, output = json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2])
    os.chdir(REPO)
    sys.path[:0] = [str(REPO / "scripts")]
    results = [run_case(script, args) for script, args in cases]
    output.write_text(json.dumps(results))


if __name__ == "__main__":
    main()

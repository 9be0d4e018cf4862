"""The lint rules pinned in pyproject.toml ([tool.ruff.lint]) hold for the whole repository."""

import subprocess
import sys

from conftest import REPO


def test_the_code_passes_the_pinned_lint_rules():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", "."],
                            capture_output=True, text=True, cwd=REPO, check=False)
    assert result.returncode == 0, result.stdout + result.stderr

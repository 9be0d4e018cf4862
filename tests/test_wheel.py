"""The package as people install it: a wheel (not the editable checkout), its console commands run from a
directory that knows nothing of the repository, with the configs, bundled models and emoji inside."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from conftest import REPO


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed; its dependencies come from this environment (a .pth file),
    so the test installs nothing from the network."""
    root = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(root / "dist"), str(REPO)], check=True, capture_output=True, text=True)
    wheel = next((root / "dist").glob("fer-*.whl"))
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
                   check=True, capture_output=True, text=True)
    return venv


def run_installed(venv: Path, command: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(cwd), "FER_CACHE_DIR": str(cwd / "cache")}
    return subprocess.run([str(venv / "bin" / command), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)


def test_wheel_ships_configs_models_and_emoji_and_fer_predict_runs_anywhere(installed_wheel, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copy(REPO / "fer" / "assets" / "test_face.jpg", elsewhere / "portrait.jpg")
    where = run_installed(installed_wheel, "python", "-c", "import fer, fer.config as c; print(fer.__file__); "
                          "print(c.CONFIG_DIR)", cwd=elsewhere)
    package, config_dir = where.stdout.split()
    assert str(installed_wheel) in package and Path(config_dir) == Path(package).parent / "conf"
    for shipped in ("conf/train.yaml", "conf/experiment/quick.yaml", "assets/model.pt", "assets/model_fast.pt",
                    "assets/emoji/happy.png"):
        assert (Path(package).parent / shipped).is_file(), shipped

    result = run_installed(installed_wheel, "fer-predict", "input=portrait.jpg", "output_dir=out", cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader((elsewhere / "out" / "predictions.csv").open()))
    assert len(rows) == 1 and rows[0]["label"] and rows[0]["detected"] == "1"
    assert (elsewhere / "out" / "annotated").is_dir()

    for command in ("fer-train", "fer-eval", "fer-webcam", "fer-serve", "fer-prepare", "fer-export", "fer-compare"):
        help_text = run_installed(installed_wheel, command, "--help", cwd=elsewhere)
        assert help_text.returncode == 0 and "Powered by Hydra" in help_text.stdout, command
    missing = run_installed(installed_wheel, "fer-predict", "input=nothing_here.jpg", cwd=elsewhere)
    assert missing.returncode == 2 and "nothing_here.jpg" in missing.stderr

"""The one front door of every script: Hydra ``key=value`` overrides and ``--help``, values checked before
any work starts, user mistakes as one line (exit status 2), and the libraries' tips kept out of the output.

``HYDRA_FULL_ERROR=1`` shows the full traceback of a user error too, for bug reports.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import sys
import types
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hydra
from hydra.errors import HydraException, InstantiationException
from lightning.pytorch.utilities.exceptions import SIGTERMException
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from fer.config import CONFIG_DIR
from fer.data.arrays import SPLITS
from fer.data.prepare import FORMATS
from fer.data.sampling import BALANCE_STRATEGIES
from fer.errors import ConfigError, UserError
from fer.inference.model import EXPORT_FORMATS, PRECISIONS
from fer.inference.recognizer import BACKENDS
from fer.tta import TTA_MODES

# ---------------------------------------------------------------------------------------------- values
# (config key, what is allowed, test). One table for every script: a key a script's config does not
# have is skipped; null is allowed wherever the config's own default may be null.
_INT, _NUM = (int,), (int, float)
RULES: list[tuple[str, str, tuple[type, ...], Callable[[Any], bool]]] = [
    ("data.batch_size", "an integer >= 1", _INT, lambda v: v >= 1),
    ("data.eval_batch_size", "an integer >= 1", _INT, lambda v: v >= 1),
    ("data.image_size", "an integer from 8 to 1024", _INT, lambda v: 8 <= v <= 1024),
    ("data.channels", "1 (grayscale) or 3 (colour)", _INT, lambda v: v in (1, 3)),
    ("data.val_fraction", "a fraction in [0, 1)", _NUM, lambda v: 0 <= v < 1),
    ("data.test_fraction", "a fraction in [0, 1)", _NUM, lambda v: 0 <= v < 1),
    ("data.subset", "a fraction in (0, 1]", _NUM, lambda v: 0 < v <= 1),
    ("data.num_workers", "an integer >= 0", _INT, lambda v: v >= 0),
    ("data.balance.per_class", "an integer >= 1", _INT, lambda v: v >= 1),
    ("trainer.max_epochs", "an integer >= 1 (or -1: no limit)", _INT, lambda v: v >= 1 or v == -1),
    ("trainer.min_epochs", "an integer >= 0", _INT, lambda v: v >= 0),
    ("trainer.devices", "an integer >= 1 or 'auto'", (int, str),
     lambda v: v == "auto" or isinstance(v, int) and v >= 1),
    ("module.optimizer.lr", "a number > 0 and <= 10", _NUM, lambda v: 0 < v <= 10),
    ("module.optimizer.weight_decay", "a number >= 0", _NUM, lambda v: v >= 0),
    ("module.label_smoothing", "a number in [0, 1)", _NUM, lambda v: 0 <= v < 1),
    ("module.std", "a number > 0", _NUM, lambda v: v > 0),
    ("model.dropout", "a number in [0, 1)", _NUM, lambda v: 0 <= v < 1),
    ("module.distill.weight", "a number in [0, 1]", _NUM, lambda v: 0 <= v <= 1),
    ("module.distill.temperature", "a number > 0", _NUM, lambda v: v > 0),
    ("seed", "an integer >= 0", _INT, lambda v: v >= 0),
    ("threads", "an integer >= 1 (null: all cores)", _INT, lambda v: v >= 1),
    ("margin", "a number in [0, 1]", _NUM, lambda v: 0 <= v <= 1),
    ("turns", "a list of angles in degrees, each from -90 to 90 (e.g. [-20,20,-40,40]; [] turns the search off)",
     ListConfig, lambda v: all(isinstance(a, _NUM) and not isinstance(a, bool) and -90 <= a <= 90 for a in v)),
    ("search_width", "an integer from 64 to 8192 (null: no closer search)", _INT, lambda v: 64 <= v <= 8192),
    ("smoothing", "a number in [0, 1)", _NUM, lambda v: 0 <= v < 1),
    ("image_size", "an integer from 8 to 1024", _INT, lambda v: 8 <= v <= 1024),
    ("channels", "1 (grayscale) or 3 (colour)", _INT, lambda v: v in (1, 3)),
    ("port", "a TCP port, 1 to 65535", _INT, lambda v: 1 <= v <= 65535),
    ("max_frame_bytes", "an integer >= 1024", _INT, lambda v: v >= 1024),
    ("max_side", "an integer from 64 to 8192", _INT, lambda v: 64 <= v <= 8192),
]
CHOICES: dict[str, tuple[Any, ...]] = {  # each the tuple its consumer checks against, not a copy
    "split": SPLITS,
    "tta": (None, *TTA_MODES),
    "module.distill.views": TTA_MODES,
    "module.distill.cached": (True, False),
    "precision": PRECISIONS,
    "backend": BACKENDS,
    "prepare_data:format": FORMATS,  # <config>: scopes a key that means different things in two scripts
    "export:format": EXPORT_FORMATS,
    "data.balance.strategy": BALANCE_STRATEGIES,
}


def check_config(cfg: DictConfig, config_name: str = "") -> None:
    """Every user-settable number and choice, against RULES and CHOICES; raises ConfigError naming the key."""
    missing = _missing_keys(cfg)
    if missing:
        raise ConfigError(f"missing mandatory option{'s' * (len(missing) > 1)}: "
                          f"{', '.join(f'{key}=...' for key in missing)} (see --help)")
    for key, allowed, accepted_types, test in RULES:
        value = OmegaConf.select(cfg, key, default=None, throw_on_resolution_failure=False)
        if value is None or isinstance(value, str) and value.startswith("${"):
            continue
        if isinstance(value, bool) or not isinstance(value, accepted_types) or not test(value):
            raise ConfigError(f"{key}={value!r} is not allowed: it must be {allowed}")
    for scoped_key, allowed in CHOICES.items():
        scope, _, key = scoped_key.rpartition(":")
        if scope and scope != config_name:
            continue
        value = OmegaConf.select(cfg, key, default=None, throw_on_resolution_failure=False)
        if value not in allowed and not (value is None and None in allowed) and key in _keys(cfg, key):
            raise ConfigError(f"{key}={value!r} is not one of {[a for a in allowed if a is not None]}")


def _missing_keys(node: DictConfig, prefix: str = "") -> list[str]:
    """Keys still ``???``, found without resolving interpolations (some only resolve inside a Hydra run)."""
    missing = []
    for key in node:
        if OmegaConf.is_missing(node, key):
            missing.append(f"{prefix}{key}")
        elif not OmegaConf.is_interpolation(node, key) and isinstance(node[key], DictConfig):
            missing += _missing_keys(node[key], f"{prefix}{key}.")
    return missing


def _keys(cfg: DictConfig, key: str) -> set[str]:
    """{key} when ``cfg`` has ``key`` at all (a script's config lacks most of the table's keys)."""
    parent, _, leaf = key.rpartition(".")
    node = OmegaConf.select(cfg, parent) if parent else cfg
    return {key} if isinstance(node, DictConfig) and leaf in node else set()


# ---------------------------------------------------------------------------------------------- noise
class _DropTips(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.getMessage()).startswith("💡 Tip")


def quiet_library_noise() -> None:
    """Lightning's product tips and deprecation warnings the project cannot fix stay out of the output."""
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_DropTips())
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
    warnings.filterwarnings("ignore", message=r".*is not supported by the model summary.*")
    warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
    # TensorBoard's writer imports TensorFlow where it is installed (fer[compare]): seconds and a page of
    # TensorFlow's log lines at each start. Its own stub, used where TensorFlow is absent, writes the same files.
    sys.modules.setdefault("tensorboard.compat.notf", types.ModuleType("tensorboard.compat.notf"))


# ---------------------------------------------------------------------------------------------- entry
def _plain_run(argv: list[str]) -> bool:
    """A single run of ``key=value`` overrides (not --help, --cfg, a multirun or a sweep list)."""
    return all("=" in a and not a.startswith("-") for a in argv)


def precheck(config_name: str, overrides: list[str]) -> None:
    """Compose the config as Hydra will and check it, before Hydra creates a run directory."""
    from hydra import compose, initialize_config_dir

    try:
        with initialize_config_dir(CONFIG_DIR, version_base="1.3"):
            cfg = compose(config_name, overrides=overrides, return_hydra_config=True)
        run_dir, record = OmegaConf.select(cfg, "hydra.run.dir"), OmegaConf.select(cfg, "hydra.output_subdir")
        with open_dict(cfg):
            del cfg["hydra"]
    except (HydraException, OmegaConfBaseException) as err:
        raise ConfigError(str(err).splitlines()[0]) from err
    check_config(cfg, config_name)
    if record and run_dir and (Path(run_dir) / record / "config.yaml").is_file():
        raise ConfigError(f"hydra.run.dir={run_dir} already holds a run (its {record}/config.yaml would be replaced); "
                          f"continue it with resume={run_dir}, or choose a new directory")


def fail(err: BaseException) -> None:
    """One line on stderr and exit status 2, unless HYDRA_FULL_ERROR=1 asks for the traceback."""
    if os.environ.get("HYDRA_FULL_ERROR") == "1":
        raise err
    print(f"error: {err}", file=sys.stderr)
    if isinstance(err, ConfigError):
        print("hint: `--help` lists every option; HYDRA_FULL_ERROR=1 shows the traceback", file=sys.stderr)
    sys.exit(2)


def app(config_name: str) -> Callable[[Callable[[DictConfig], Any]], Callable[[], Any]]:
    """``@app("train")`` turns ``task(cfg)`` into a script's ``main()``: checked, quiet, one-line errors."""

    def decorate(task: Callable[[DictConfig], Any]) -> Callable[[], Any]:
        @functools.wraps(task)
        def checked(cfg: DictConfig) -> Any:
            quiet_library_noise()
            try:
                return task(cfg)
            except UserError as err:
                fail(err)
            except InstantiationException as err:  # a constructor refused a configured value
                if not isinstance(err.__cause__, UserError):
                    raise
                fail(err.__cause__)
            except SIGTERMException:  # Lightning's, after it saved the interrupted checkpoint: exit as killed
                sys.exit(128 + signal.SIGTERM)

        hydra_main = hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name=config_name)(checked)

        def main() -> Any:
            quiet_library_noise()
            if _plain_run(sys.argv[1:]):
                try:
                    precheck(config_name, sys.argv[1:])
                except UserError as err:
                    fail(err)
            return hydra_main()

        return main

    return decorate

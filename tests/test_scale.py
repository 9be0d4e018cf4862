"""Scaling out: DDP processes on the CPU, Optuna sweeps with a resumable study, the submitit launcher."""

from __future__ import annotations

import json

import pytest
from omegaconf import OmegaConf

from conftest import run_script

QUICK = ["trainer.max_epochs=1", "data.batch_size=32", "trainer.precision=32-true", "callbacks.progress_bar=null",
         "callbacks.report.projector=false"]


def test_ddp_cpu_two_processes_validate_like_one_process_on_the_same_weights(tmp_path, tiny_sources):
    run = tmp_path / "ddp"
    # one epoch of the linear model: neither chance nor 100%, so a wrongly sharded validation would show
    run_script("train.py", "trainer=ddp_cpu", "trainer.devices=2", "model=linear", "augment=none", *QUICK,
               f"data.source={tiny_sources['folder']}", f"hydra.run.dir={run}")
    assert (run / "train_ddp_process_1.log").is_file()  # a second process really trained
    metrics = json.loads((run / "metrics.json").read_text())
    assert 0 < metrics["val_acc"] < 1
    bests = list((run / "checkpoints").glob("best-*.ckpt"))
    assert len(bests) == 1 and len(list(run.glob("report.json"))) == 1
    run_script("eval.py", f"ckpt_path={bests[0]}", f"data.source={tiny_sources['folder']}", "split=val",
               "trainer.precision=32-true", "callbacks.report.projector=false", f"hydra.run.dir={tmp_path / 'one'}")
    single = json.loads((tmp_path / "one" / "metrics.json").read_text())
    assert single["images"] == 56 and single["test_acc"] == pytest.approx(metrics["val_acc"], abs=1e-6)


def test_optuna_sweep_writes_its_best_trial_and_its_sqlite_study_survives_a_restart(tmp_path, tiny_sources):
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="needs the sweep extra: pip install -e '.[sweep]'")
    import optuna

    storage = f"sqlite:///{tmp_path / 'study.db'}"
    limited = [*QUICK, "+trainer.limit_train_batches=2", "+trainer.limit_val_batches=1",
               "+trainer.limit_test_batches=1", "logger=none", f"data.source={tiny_sources['folder']}",
               f"hydra.sweeper.storage={storage}"]
    run_script("train.py", "hparams_search=optuna", "hydra.sweeper.n_trials=3", *limited,
               f"hydra.sweep.dir={tmp_path / 'first'}")
    best = OmegaConf.load(tmp_path / "first" / "optimization_results.yaml")
    assert set(best.best_params) == {"model", "augment", "module.optimizer.lr", "module.optimizer.weight_decay",
                                     "model.dropout", "module.label_smoothing"}
    trials = [json.loads(p.read_text()) for p in (tmp_path / "first").glob("*/metrics.json")]
    assert len(trials) == 3 and best.best_value == pytest.approx(max(t["val_acc"] for t in trials))
    summary = (tmp_path / "first" / "summary.md").read_text()
    assert summary.count("module.optimizer.lr=") == 3  # one row per trial, with its choices
    run_script("train.py", "hparams_search=optuna", "hydra.sweeper.n_trials=1", *limited,
               f"hydra.sweep.dir={tmp_path / 'again'}")
    assert len(optuna.load_study(study_name="fer", storage=storage).trials) == 4


def test_submitit_local_multirun_of_two_jobs(tmp_path, tiny_sources):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher",
                        reason="needs the sweep extra: pip install -e '.[sweep]'")
    sweep = tmp_path / "sweep"
    run_script("train.py", "-m", "hydra/launcher=submitit_local", "model=linear,vgg_small", *QUICK, "logger=none",
               f"data.source={tiny_sources['folder']}", f"hydra.sweep.dir={sweep}")
    models = sorted(json.loads(p.read_text())["model"] for p in sweep.glob("*/metrics.json"))
    assert models == ["linear", "vgg_small"] and (sweep / ".submitit").is_dir()
    assert (sweep / "summary.md").read_text().count("| model=") == 2

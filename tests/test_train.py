"""train(cfg) and eval(cfg) composed from the real configs, and the scripts run as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

from conftest import REPO, SHORT, compose_train, run_script, write_image_tree
from fer.config import CONFIG_DIR
from fer.errors import InputFileError
from fer.models import list_models
from fer.module import FERModule
from fer.train import train


@pytest.mark.parametrize("fmt", ["folder", "csv", "npz"])
@pytest.mark.parametrize("model", list_models())
def test_fast_dev_run_every_model_every_format(tmp_path, tiny_sources, model, fmt):
    cfg = compose_train(tmp_path, "debug=fast_dev_run", f"model={model}", f"data={fmt}",
                        f"data.source={tiny_sources[fmt]}", "data.batch_size=32")
    metrics = train(cfg)
    assert 0 <= metrics["test_acc"] <= 1 and metrics["model"] == model
    assert json.loads((tmp_path / "metrics.json").read_text())["test_acc"] == metrics["test_acc"]


def test_run_directory_contract(trained_tiny):
    metrics = json.loads((trained_tiny / "metrics.json").read_text())
    assert {"test_acc", "test_f1_macro", "val_acc", "best_epoch"} <= set(metrics)
    assert metrics["test_acc"] > 0.6  # the synthetic classes are easy
    assert 1 <= metrics["best_epoch"] <= 3 and metrics["epochs"] == 3
    checkpoints = sorted(p.name for p in (trained_tiny / "checkpoints").iterdir())
    assert "last.ckpt" in checkpoints and any(name.startswith("best-epoch") for name in checkpoints)
    assert list((trained_tiny / "tensorboard").glob("events.out.tfevents.*"))


def test_checkpoint_loads_with_weights_only_and_carries_preprocessing(trained_tiny):
    best = json.loads((trained_tiny / "metrics.json").read_text())["best_checkpoint"]
    raw = torch.load(best, map_location="cpu", weights_only=True)
    assert raw["hyper_parameters"]["model"]["name"] == "baseline_cnn"
    module = FERModule.load_from_checkpoint(best, map_location="cpu", weights_only=True)
    assert module.preprocessing == {"image_size": 48, "channels": 1, "mean": 0.5, "std": 0.25,
                                    "classes": ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]}


def test_same_seed_same_metrics(tmp_path, tiny_sources, trained_tiny):
    again = train(compose_train(tmp_path, *SHORT, f"data.source={tiny_sources['folder']}"))
    first = json.loads((trained_tiny / "metrics.json").read_text())
    for key in ("test_acc", "test_loss", "val_acc", "best_epoch"):
        assert again[key] == first[key], key


def test_eval_script_scores_a_checkpoint_like_training_did(tmp_path, trained_tiny, tiny_sources):
    metrics = json.loads((trained_tiny / "metrics.json").read_text())
    run_script("eval.py", f"ckpt_path={metrics['best_checkpoint']}", f"data.source={tiny_sources['npz']}",
               "data=npz", "split=test", f"hydra.run.dir={tmp_path}")
    scored = json.loads((tmp_path / "metrics.json").read_text())
    assert scored["test_acc"] == pytest.approx(metrics["test_acc"], abs=1e-6) and scored["images"] == 56


def test_eval_of_a_plain_class_folder_scores_it_whole_and_rejects_unknown_classes(tmp_path, trained_tiny):
    best = json.loads((trained_tiny / "metrics.json").read_text())["best_checkpoint"]
    plain = write_image_tree(tmp_path / "src", {"train": 21, "test": 14}) / "train"
    run_script("eval.py", f"ckpt_path={best}", f"data.source={plain}", f"hydra.run.dir={tmp_path / 'a'}")
    assert json.loads((tmp_path / "a" / "metrics.json").read_text())["images"] == 21
    alien = write_image_tree(tmp_path / "alien", {"train": 4, "test": 4}, classes=("contempt", "happy")) / "train"
    result = run_script("eval.py", f"ckpt_path={best}", f"data.source={alien}", f"hydra.run.dir={tmp_path / 'b'}",
                        check=False)
    assert result.returncode == 2 and "does not know the class(es) ['contempt']" in result.stderr
    assert "Traceback" not in result.stderr  # a user's mistake: one line, not a crash


RESUMABLE = [*SHORT, "augment=crop_flip_rotate_erase", "resize=progressive", "model=vgg_lite",
             "module.label_smoothing=0.1", "trainer.precision=bf16-mixed", "callbacks.progress_bar=null"]


@pytest.fixture(scope="module")
def whole_run(tmp_path_factory, tiny_sources) -> dict:
    """The uninterrupted run the resumed ones must end exactly like."""
    out = tmp_path_factory.mktemp("whole")
    run_script("train.py", *RESUMABLE, f"data.source={tiny_sources['folder']}", f"hydra.run.dir={out}")
    return {"dir": out, "state": torch.load(out / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"],
            "metrics": json.loads((out / "metrics.json").read_text())}


def assert_same_end_state(whole: dict, run_dir) -> dict:
    resumed = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    assert whole["state"].keys() == resumed.keys()
    assert all(torch.equal(whole["state"][k], resumed[k]) for k in resumed)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["test_acc"] == whole["metrics"]["test_acc"]
    assert metrics["best_epoch"] == whole["metrics"]["best_epoch"]
    return metrics


def test_resume_after_sigkill_mid_epoch_reaches_the_same_end_state(tmp_path, tiny_sources, whole_run):
    run = tmp_path / "cut"
    killed = run_script("train.py", *RESUMABLE, f"data.source={tiny_sources['folder']}", f"hydra.run.dir={run}",
                        "+callbacks.kill._target_=killer.KillAtStep", "+callbacks.kill.step=13", check=False)
    assert killed.returncode == -9 and not (run / "metrics.json").exists()  # 8 steps an epoch: died in epoch 2
    last = run / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(last, weights_only=True)
    checkpoint["callbacks"]["Timer"]["time_elapsed"]["train"] += 10_000  # as if the first part had run for hours
    torch.save(checkpoint, last)
    record = (run / ".hydra" / "config.yaml").read_text()
    run_script("train.py", f"resume={run}", "+callbacks.kill=null")  # the run's own config is read back
    metrics = assert_same_end_state(whole_run, run)
    assert (run / ".hydra" / "config.yaml").read_text() == record  # the record of how the run was made is kept
    assert metrics["train_seconds"] > 10_000 > whole_run["metrics"]["train_seconds"]  # includes the first part
    assert metrics["seconds_per_epoch"] == pytest.approx(metrics["train_seconds"] / 3)


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT"])  # a kill, and Ctrl-C
def test_an_interruption_in_the_first_epoch_leaves_a_checkpoint_that_resumes_exactly(tmp_path, tiny_sources,
                                                                                     whole_run, signal_name):
    run = tmp_path / "cut"
    stopped = run_script("train.py", *RESUMABLE, f"data.source={tiny_sources['folder']}", f"hydra.run.dir={run}",
                         "+callbacks.kill._target_=killer.KillAtStep", "+callbacks.kill.step=5",
                         f"+callbacks.kill.signal_name={signal_name}", check=False)
    assert stopped.returncode != 0 and not (run / "checkpoints" / "last.ckpt").exists()
    interrupted = torch.load(run / "checkpoints" / "interrupted.ckpt", weights_only=True)
    assert interrupted["global_step"] == 5 and interrupted["epoch"] == 0
    run_script("train.py", f"resume={run}", "+callbacks.kill=null")
    assert_same_end_state(whole_run, run)
    assert not (run / "checkpoints" / "interrupted.ckpt").exists()  # a finished run keeps no stale one


def test_a_failed_resume_changes_nothing_in_the_run_directory(tmp_path, whole_run):
    trained_tiny = whole_run["dir"]
    before = {p: p.read_bytes() for p in trained_tiny.rglob("*") if p.is_file()}
    result = run_script("train.py", f"resume={trained_tiny}", "model=vgg", check=False)
    assert result.returncode == 2 and "keeps its config groups" in result.stderr
    result = run_script("train.py", f"resume={tmp_path}", check=False)
    assert result.returncode == 2 and "not a training run directory" in result.stderr
    assert {p: p.read_bytes() for p in trained_tiny.rglob("*") if p.is_file()} == before


def test_a_run_directory_holding_another_run_is_refused(whole_run, tiny_sources):
    trained_tiny = whole_run["dir"]
    before = (trained_tiny / ".hydra" / "config.yaml").read_text()
    result = run_script("train.py", f"hydra.run.dir={trained_tiny}", f"data.source={tiny_sources['folder']}",
                        check=False)
    assert result.returncode == 2 and f"resume={trained_tiny}" in result.stderr
    assert (trained_tiny / ".hydra" / "config.yaml").read_text() == before


def test_last_checkpoint_is_the_last_epoch_even_when_the_best_is_earlier(tmp_path, tiny_sources):
    # monitoring the epoch number for its minimum pins the best checkpoint to epoch 1
    cfg = compose_train(tmp_path, *SHORT, f"data.source={tiny_sources['folder']}", "callbacks.early_stopping=null",
                        "callbacks.model_checkpoint.monitor=epoch", "callbacks.model_checkpoint.mode=min")
    metrics = train(cfg)
    assert metrics["best_epoch"] == 1 and metrics["epochs"] == 3
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["epoch"] == 2 and last["global_step"] == 3 * 8  # resuming from it repeats nothing
    names = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert len(names) == 2 and names[0].startswith("best-epoch001-") and names[1] == "last.ckpt"  # counted from 1


def test_nan_loss_stops_the_run_with_a_clear_message(tmp_path, tiny_sources):
    cfg = compose_train(tmp_path, *SHORT, "module.optimizer.lr=1e12", "trainer.precision=32-true",
                        f"data.source={tiny_sources['folder']}")
    with pytest.raises(FloatingPointError, match="training loss became nan.*lower module.optimizer.lr"):
        train(cfg)


def test_multirun_of_two_models_ends_with_a_comparison_table(tmp_path, tiny_sources):
    result = run_script("train.py", "-m", "model=linear,baseline_cnn", "trainer.max_epochs=1", "data.batch_size=32",
                        f"data.source={tiny_sources['folder']}", f"hydra.sweep.dir={tmp_path}",
                        "callbacks.progress_bar=null")
    summary = (tmp_path / "summary.md").read_text()
    assert "2 runs in" in result.stdout
    assert summary.count("| 0_") + summary.count("| 1_") == 2 and "linear" in summary and "baseline_cnn" in summary


@pytest.mark.slow
def test_real_fer2013_baseline_cnn_short_run_beats_40_percent(real_short_run):
    metrics = json.loads((real_short_run / "metrics.json").read_text())
    assert metrics["test_acc"] > 0.40, metrics
    assert metrics["test_f1_macro"] > 0.25 and metrics["epochs"] == 2


@pytest.mark.parametrize("experiment", sorted(p.stem for p in (REPO / "conf" / "experiment").glob("*.yaml")))
def test_every_experiment_composes_and_runs(tmp_path, tiny_sources, experiment):
    with initialize_config_dir(CONFIG_DIR, version_base="1.3"):
        fmt = compose("train", overrides=[f"experiment={experiment}", "paths.output_dir=x"]).data.reader._target_
    source = tiny_sources["npz" if fmt.endswith("read_npz") else "folder"]
    metrics = train(compose_train(tmp_path, f"experiment={experiment}", "debug=fast_dev_run",
                                  f"data.source={source}"))
    assert 0 <= metrics["test_acc"] <= 1


def test_eval_shift_is_drawn_the_same_each_time_and_named_in_the_metrics(tmp_path, trained_tiny, tiny_sources):
    metrics = json.loads((trained_tiny / "metrics.json").read_text())
    for name, shift in (("none", "none"), ("wild", "wild"), ("again", "wild")):
        run_script("eval.py", f"ckpt_path={metrics['best_checkpoint']}", f"data.source={tiny_sources['folder']}",
                   f"shift={shift}", "trainer.precision=32-true", f"hydra.run.dir={tmp_path / name}")
    plain, wild, again = (json.loads((tmp_path / n / "metrics.json").read_text()) for n in ("none", "wild", "again"))
    assert plain["shift"] == "none" and wild["shift"] == "wild"
    assert plain["test_loss"] == pytest.approx(metrics["test_loss"], abs=1e-5)
    assert wild["test_loss"] != plain["test_loss"] and wild["test_loss"] == again["test_loss"]


def test_ema_checkpoints_hold_the_average_and_the_run_tests_those_weights(tmp_path, tiny_sources):
    run = tmp_path / "run"
    metrics = train(compose_train(run, *SHORT, f"data.source={tiny_sources['folder']}", "callbacks=ema",
                                  "callbacks.ema.decay=0.9", "callbacks.ema.update_starting_at_step=0"))
    raw = torch.load(metrics["best_checkpoint"], map_location="cpu", weights_only=True)
    averaged, current = raw["state_dict"], raw["current_model_state"]
    assert any(not torch.equal(averaged[k], current[k]) for k in averaged if k.endswith("weight"))
    for tta in ("none", "ten_crop"):
        run_script("eval.py", f"ckpt_path={metrics['best_checkpoint']}", f"data.source={tiny_sources['folder']}",
                   f"tta={tta}", "trainer.precision=32-true", f"hydra.run.dir={tmp_path / tta}")
    plain, ten_crop = (json.loads((tmp_path / t / "metrics.json").read_text()) for t in ("none", "ten_crop"))
    assert plain["test_loss"] == pytest.approx(metrics["test_loss"], abs=1e-5)
    assert ten_crop["tta"] == "ten_crop" and ten_crop["test_loss"] != plain["test_loss"]


def test_tail_averaging_is_the_mean_of_the_last_steps_and_validates_plainly_before_them(tmp_path, tiny_sources):
    import recorder

    recorder.SNAPSHOTS.clear()
    train(compose_train(tmp_path, *SHORT, f"data.source={tiny_sources['folder']}", "callbacks=swa",
                        "callbacks.early_stopping=null", "+callbacks.model_checkpoint.save_top_k=-1",
                        "callbacks.tail_averaging.fraction=0.5",
                        "+callbacks.recorder._target_=recorder.WeightRecorder"))
    steps, per_epoch = len(recorder.SNAPSHOTS), len(recorder.SNAPSHOTS) // 3
    tail = recorder.SNAPSHOTS[steps - steps // 2:]
    assert per_epoch >= 2 and len(tail) >= 3
    checkpoint = {epoch: torch.load(next((tmp_path / "checkpoints").glob(f"best-epoch00{epoch}-*")),
                                    map_location="cpu", weights_only=True) for epoch in (1, 3)}
    # before the tail: the plain weights, validated and checkpointed as they are
    assert "current_model_state" not in checkpoint[1]
    for name, weights in checkpoint[1]["state_dict"].items():
        assert torch.equal(weights, recorder.SNAPSHOTS[per_epoch - 1][name]), name
    # at the end: the equal average of the weights after each tail step, the current ones kept for resuming
    final = checkpoint[3]
    assert any(not torch.equal(final["state_dict"][k], final["current_model_state"][k]) for k in final["state_dict"])
    for name, averaged in final["state_dict"].items():
        assert torch.equal(final["current_model_state"][name], tail[-1][name]), name
        if averaged.is_floating_point():
            expected = torch.stack([snapshot[name] for snapshot in tail]).mean(0)
            torch.testing.assert_close(averaged, expected, rtol=1e-4, atol=1e-6, msg=name)


def test_tensorboard_hparams_hold_the_run_choices_and_its_final_scores(tmp_path, tiny_sources):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_script("train.py", *SHORT, "trainer.max_epochs=1", f"data.source={tiny_sources['folder']}",
               f"hydra.run.dir={tmp_path}", "callbacks.progress_bar=null")
    events = EventAccumulator(str(tmp_path / "tensorboard"), size_guidance={"tensors": 0}).Reload()
    plugin = events.PluginTagToContent("hparams")
    assert {"_hparams_/experiment", "_hparams_/session_start_info"} <= set(plugin)
    start = plugin["_hparams_/session_start_info"].decode("latin-1")
    assert "group/model" in start and "baseline_cnn" in start and "lr" in start
    assert "hparams/test_acc" in plugin["_hparams_/experiment"].decode("latin-1")
    assert events.Scalars("hparams/test_acc")[0].value == pytest.approx(
        json.loads((tmp_path / "metrics.json").read_text())["test_acc"])


def test_debug_limit_scores_a_stratified_subset_of_every_split(tmp_path, tiny_sources):
    cfg = compose_train(tmp_path, *SHORT, "debug=limit", "data.subset=0.25", f"data.source={tiny_sources['folder']}")
    datamodule = __import__("hydra.utils", fromlist=["instantiate"]).instantiate(cfg.data)
    datamodule.setup()
    for split, full in {"train": 280, "val": 56, "test": 56}.items():
        counts = datamodule.class_counts(split)
        assert sum(counts.values()) == full // 4 and len(set(counts.values())) == 1, (split, counts)  # every class


def test_the_run_log_names_its_precision_and_estimates_the_whole_run(tmp_path, tiny_sources):
    result = run_script("train.py", *SHORT, "trainer.precision=32-true", f"data.source={tiny_sources['folder']}",
                        f"hydra.run.dir={tmp_path}")
    log = result.stdout + result.stderr
    assert "precision 32-true: this CPU" in log and "trainer.precision=bf16-mixed forces bf16" in log
    assert "epoch 1/3:" in log and "whole run about" in log and "left" in log
    assert "Tip:" not in log and "LeafSpec" not in log  # library noise stays out


def test_eta_line_uses_the_median_epoch_and_mentions_early_stopping():
    from fer.callbacks import eta_line

    line = eta_line(2, 40, [300.0, 60.0], early_stopping=True)
    assert line.startswith("epoch 2/40: 60 s") and "about 38 min left" in line and "early stopping" in line
    assert eta_line(40, 40, [60.0] * 40) == "epoch 40/40: 60 s (train + val)"


@pytest.mark.parametrize("overrides", [["scheduler=cosine"], ["scheduler=plateau"], ["logger=csv"], ["logger=many"]])
def test_schedulers_and_loggers_run_a_real_short_training(tmp_path, tiny_sources, overrides):
    metrics = train(compose_train(tmp_path, *SHORT, "trainer.max_epochs=2", *overrides,
                                  f"data.source={tiny_sources['folder']}"))
    assert metrics["epochs"] == 2 and 0 <= metrics["test_acc"] <= 1
    if "logger=csv" in overrides or "logger=many" in overrides:
        assert list(tmp_path.rglob("metrics.csv"))


def test_export_then_load_predicts_like_the_checkpoint(tmp_path, trained_tiny, tiny_sources):
    from fer.inference.model import export_model, load_model

    best = json.loads((trained_tiny / "metrics.json").read_text())["best_checkpoint"]
    path, metadata = export_model(best, tmp_path / "model.pt", command="pytest")
    blob = torch.load(path, weights_only=True)
    assert blob["model"] == {"name": "baseline_cnn", "dropout": 0.5} and blob["metadata"]["command"] == "pytest"
    assert metadata["test_acc"] == json.loads((trained_tiny / "metrics.json").read_text())["test_acc"]
    x = torch.rand(16, 1, 48, 48)
    with torch.no_grad():
        expected = load_model(best)(x).softmax(1)
        exported = load_model(path)(x).softmax(1)
    assert (exported - expected).abs().max() < 5e-3  # fp16 weights: probabilities agree to a few 1e-3
    assert torch.equal(exported.argmax(1), expected.argmax(1))


def test_a_failed_export_over_a_model_file_keeps_the_old_file_whole(tmp_path, trained_tiny, monkeypatch):
    from fer.inference.model import export_model

    target = tmp_path / "model.pt"
    export_model(trained_tiny / "model.pt", target)
    before = target.read_bytes()

    def save_half_then_fail(blob, file):  # a disk that fills up, a killed process: part of a file, then an error
        Path(file).write_bytes(before[: len(before) // 2])
        raise OSError("No space left on device")

    monkeypatch.setattr(torch, "save", save_half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        export_model(trained_tiny / "model.pt", target, overwrite=True)
    assert target.read_bytes() == before and list(tmp_path.iterdir()) == [target]  # no half file, no leftovers


def test_init_starts_training_from_an_exported_model_and_refuses_another_network(tmp_path, trained_tiny, tiny_sources):
    from fer.errors import ConfigError

    exported = torch.load(trained_tiny / "model.pt", weights_only=True)["state_dict"]
    # a learning rate of zero: whatever the run ends with, its weights are the ones it started from
    metrics = train(compose_train(tmp_path / "run", *SHORT, "trainer.max_epochs=1", "module.optimizer.lr=0",
                                  f"init={trained_tiny / 'model.pt'}", f"data.source={tiny_sources['folder']}"))
    state = torch.load(metrics["best_checkpoint"], map_location="cpu", weights_only=True)["state_dict"]
    parameters = [name for name in exported if name.endswith(("weight", "bias"))]  # not BatchNorm statistics
    assert parameters
    for name in parameters:
        assert torch.equal(state[f"net.{name}"], exported[name].float()), name
    with pytest.raises(ConfigError, match=r"init=.*model\.pt: holds the network .*baseline_cnn.*model="):
        train(compose_train(tmp_path / "other", *SHORT, "model=bn_cnn", f"init={trained_tiny / 'model.pt'}",
                            f"data.source={tiny_sources['folder']}"))


def test_init_fine_tunes_a_pooled_network_at_a_new_image_size_but_not_a_flattened_one(tmp_path):
    from fer.errors import ConfigError
    from fer.inference.model import initialize_from, write_model_file

    def network(head: str, image_size: int, **spec) -> FERModule:
        spec = {"name": "vgg_small", "dropout": 0.3, "head": head, "head_width": 64, **spec}
        return FERModule(model=spec,
                         preprocessing={"image_size": image_size, "channels": 1, "classes": list("abcdefg")},
                         optimizer={}, mean=0.5, std=0.25, channels_last=False)

    for head in ("pool", "flatten"):
        write_model_file(network(head, 48), tmp_path / f"{head}.pt", metadata={})
    student = network("pool", 64)  # FixRes: the pooled head holds no weight tied to the 48-pixel size
    initialize_from(student, tmp_path / "pool.pt")
    saved = torch.load(tmp_path / "pool.pt", weights_only=True)["state_dict"]
    weights = {name: value for name, value in student.net.state_dict().items() if name.endswith("weight")}
    assert len(weights) > 10 and all(torch.equal(value, saved[name].float()) for name, value in weights.items())
    # the same network spelled another way (the variant's stages written out, another dropout rate) fits;
    # another width does not
    spelled_out = network("pool", 48, name="vgg", stages=[[32, 32], [64, 64], [128, 128], [256, 256]], dropout=0.1)
    initialize_from(spelled_out, tmp_path / "pool.pt")
    assert torch.equal(spelled_out.net.state_dict()[next(iter(weights))], weights[next(iter(weights))])
    with pytest.raises(ConfigError, match=r"pool\.pt: holds the network .*vgg_small.* builds .*'stages'.*differs"):
        initialize_from(network("pool", 48, name="vgg", stages=[[32, 32], [64, 64], [128, 128], [256]]),
                        tmp_path / "pool.pt")
    with pytest.raises(ConfigError, match=r"flatten\.pt: its network was trained on 48-pixel faces .* trains on 64"):
        initialize_from(network("flatten", 64), tmp_path / "flatten.pt")
    other_normalisation = network("pool", 64)
    other_normalisation.hparams.std = 0.5
    with pytest.raises(ConfigError, match=r"pool\.pt: trained on .*'std': 0\.25.* trains on .*'std': 0\.5"):
        initialize_from(other_normalisation, tmp_path / "pool.pt")


def test_onnx_export_runs_in_onnxruntime_like_the_checkpoint(tmp_path, trained_tiny):
    pytest.importorskip("onnxruntime", reason="ONNX Runtime is the optional extra fer[onnx]")
    from fer.inference.model import export_model, load_model
    from fer.inference.onnx import OnnxModel

    best = json.loads((trained_tiny / "metrics.json").read_text())["best_checkpoint"]
    path, _ = export_model(best, tmp_path / "model.onnx", format="onnx", command="pytest")
    runtime = OnnxModel(path, threads=1)
    assert runtime.preprocessing == load_model(best).preprocessing and runtime.metadata["command"] == "pytest"
    x = torch.rand(5, 1, 48, 48)  # a batch size the export never saw
    with torch.no_grad():
        expected = load_model(best)(x).softmax(1)
    assert (runtime(x).softmax(1) - expected).abs().max() < 1e-4  # fp32 both: the same numbers
    with pytest.raises(InputFileError, match="exists"):
        export_model(best, path, format="onnx")

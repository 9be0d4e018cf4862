"""Knowledge distillation: the teachers' averaged soft targets, Hinton's loss, and a student that learns from them."""

import pytest
import torch
import torch.nn.functional as F
from hydra.utils import instantiate

from conftest import SHORT, compose_train
from fer.distill import Teachers
from fer.errors import ConfigError
from fer.inference.model import BUNDLED_MODELS, load_model
from fer.labels import FER2013_CLASSES
from fer.train import train

FER_48 = {"image_size": 48, "channels": 1, "classes": list(FER2013_CLASSES)}


def softened(name: str, faces: torch.Tensor, temperature: float) -> torch.Tensor:
    with torch.no_grad():
        return (load_model(BUNDLED_MODELS[name])(faces) / temperature).softmax(1)


def test_teachers_average_each_models_softened_probabilities_at_their_own_size():
    torch.manual_seed(0)
    faces = torch.rand(6, 1, 48, 48)
    teachers = Teachers(["fast", "accurate"], temperature=4.0, preprocessing=FER_48, precision="fp32")
    expected = (softened("fast", faces, 4.0) + softened("accurate", faces, 4.0)) / 2
    assert torch.allclose(teachers.probabilities(faces), expected, atol=1e-4)  # BatchNorm folded: rounding only
    small = F.interpolate(faces, size=(32, 32), mode="bilinear", antialias=True)  # a resize=progressive batch
    enlarged = F.interpolate(small, size=(48, 48), mode="bilinear", align_corners=False)
    assert torch.allclose(teachers.probabilities(small), teachers.probabilities(enlarged), atol=1e-6)


def test_soft_target_loss_vanishes_at_the_teachers_logits_and_pulls_a_student_toward_them():
    torch.manual_seed(1)
    faces = torch.rand(8, 1, 48, 48)
    teachers = Teachers(["fast"], temperature=2.0, preprocessing=FER_48, precision="fp32")
    with torch.no_grad():
        teacher_logits = load_model(BUNDLED_MODELS["fast"])(faces)
    assert teachers.loss(teachers.probabilities(faces), teacher_logits) < 1e-4
    student = torch.zeros(8, 7, requires_grad=True)
    loss = teachers.loss(teachers.probabilities(faces), student)
    loss.backward()
    assert loss > 0.01
    # gradient descent on the uniform student raises the classes the teacher believes in
    assert torch.equal((-student.grad).argmax(1), teacher_logits.argmax(1))


def test_cached_soft_targets_are_each_faces_answer_averaged_over_the_views():
    torch.manual_seed(2)
    faces = torch.randint(0, 256, (5, 1, 48, 48), dtype=torch.uint8)
    teachers = Teachers(["fast"], temperature=3.0, preprocessing=FER_48, precision="fp32")
    floats = faces.float() / 255
    cached = teachers.probabilities_of_faces(faces, "flip", batch_size=2)  # batches of 2, 2 and 1 faces
    expected = (softened("fast", floats, 3.0) + softened("fast", floats.flip(-1), 3.0)) / 2
    assert torch.allclose(cached, expected, atol=1e-4) and not cached.is_inference()
    assert torch.allclose(teachers.probabilities_of_faces(faces.flip(-1), "flip"), cached, atol=1e-4)
    # asked again, the answers come from disk: the same numbers, without running a teacher
    teachers.modules, teachers.bf16 = [], []
    assert torch.equal(teachers.probabilities_of_faces(faces, "flip"), cached)


def test_teachers_that_cannot_teach_this_run_are_named():
    with pytest.raises(ConfigError, match="distill teacher fast: trained on"):
        Teachers(["fast"], 4.0, {**FER_48, "image_size": 64})
    with pytest.raises(ConfigError, match="distill.teachers is empty"):
        Teachers([], 4.0, FER_48)


def test_a_distilled_student_learns_its_teachers_predictions_and_keeps_only_its_own_weights(tmp_path, tiny_sources,
                                                                                            monkeypatch):
    """On synthetic faces the teacher's answers are unrelated to the labels: a student trained on the teacher
    alone (weight 1), live or from cached answers, must agree with it far more often than one trained on the
    labels alone (weight 0). Cached, the teacher answers once, over the views, and never on a batch."""
    runs = {"labels": ["module.distill.weight=0.0"], "live": ["module.distill.weight=1.0"],
            "cached": ["module.distill.weight=1.0", "module.distill.cached=true", "mix=mixup", "scheduler=onecycle"]}
    asked, ask = [], Teachers.probabilities

    def recorded(self, images, tta="none"):
        asked.append(tta)
        return ask(self, images, tta)

    monkeypatch.setattr(Teachers, "probabilities", recorded)
    students, data, views_asked = {}, None, {}
    for name, overrides in runs.items():
        asked.clear()
        cfg = compose_train(tmp_path / name, *SHORT, "model=vgg_lite", "trainer.max_epochs=4", "distill=bundled",
                            "module.distill.teachers=[fast]", "module.distill.temperature=1.0", *overrides,
                            f"data.source={tiny_sources['folder']}")
        train(cfg)
        views_asked[name] = set(asked)
        students[name] = load_model(tmp_path / name / "model.pt")
        checkpoint = torch.load(tmp_path / name / "checkpoints" / "last.ckpt", weights_only=True)
        assert all(key.startswith("net.") for key in checkpoint["state_dict"])  # no teacher inside
        data = cfg.data
    datamodule = instantiate(data)
    faces = datamodule.split_tensors("test").images.float() / 255
    with torch.no_grad():
        teacher = load_model(BUNDLED_MODELS["fast"])(faces).argmax(1)
        agreement = {name: (student(faces).argmax(1) == teacher).float().mean().item()
                     for name, student in students.items()}
    assert min(agreement["live"], agreement["cached"]) > agreement["labels"] + 0.2, agreement
    assert views_asked == {"labels": {"none"}, "live": {"none"}, "cached": {"flip"}}, views_asked

"""Every registered model: the uniform constructor, output shapes, gradients, sizes."""

import pytest
import torch

from fer.models import create_model, list_models


def test_registry_lists_the_report_models_and_rejects_unknown_names():
    assert {"baseline_cnn", "bn_cnn", "deep_cnn", "mlp", "linear", "vgg", "vgg_small", "vgg_lite"} <= set(list_models())
    assert sum(p.numel() for p in create_model("vgg_small").parameters()) < 0.3 * sum(
        p.numel() for p in create_model("vgg").parameters())  # variants are registered by name, not only in YAML
    with pytest.raises(ValueError, match="unknown model 'resnet9000'"):
        create_model("resnet9000")


@pytest.mark.parametrize("name", list_models())
@pytest.mark.parametrize("size, classes", [(48, 7), (96, 8)])
def test_forward_backward_shapes(name, size, classes):
    model = create_model(name, in_channels=1, num_classes=classes, image_size=size, dropout=0.1)
    x = torch.rand(3, 1, size, size)
    logits = model(x)
    assert logits.shape == (3, classes)
    (logits.sum() + model.regularization_loss()).backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert grads and all(g is not None and torch.isfinite(g).all() for g in grads)
    assert model.features(x).ndim == 2


def test_baseline_cnn_matches_the_seed000_keras_parameter_count():
    # Keras summary of seed000's model: 2,345,607 trainable parameters
    assert sum(p.numel() for p in create_model("baseline_cnn").parameters()) == 2_345_607


def test_bn_cnn_l2_penalises_conv_kernels_only():
    model = create_model("bn_cnn", conv_l2=0.01)
    conv = sum((m.weight ** 2).sum() for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    assert torch.isclose(model.regularization_loss(), 0.01 * conv)
    assert create_model("bn_cnn", conv_l2=0).regularization_loss() == 0


def test_mlp_pca_fits_principal_components():
    model = create_model("mlp", pca_components=5, image_size=8)
    x = torch.randn(200, 1, 8, 8) * torch.linspace(0.1, 3, 64).view(1, 1, 8, 8)
    model.fit_to_data(x)
    projected = model.pca(x)
    assert projected.shape == (200, 5)
    variances = projected.var(0)
    assert torch.all(variances[:-1] >= variances[1:])  # ordered by explained variance


@pytest.mark.parametrize("name", ["vgg", "bn_cnn", "bn_cnn4", "deep_cnn"])
def test_folding_batchnorm_keeps_predictions_and_removes_every_batchnorm(name):
    from fer.inference.model import fold_batchnorm

    model = create_model(name)
    model.train()
    for _ in range(3):  # running statistics far from the identity
        model(torch.rand(16, 1, 48, 48) * 3 + 1)
    model.eval()
    x = torch.rand(4, 1, 48, 48)
    with torch.no_grad():
        expected = model(x)
        fold_batchnorm(model)
        assert torch.allclose(model(x), expected, atol=1e-4, rtol=1e-4)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())

"""Every registered model: the uniform constructor, output shapes, gradients, sizes."""

import pytest
import torch

from fer.models import create_model, list_models


def test_registry_lists_the_report_models_and_rejects_unknown_names():
    assert {"baseline_cnn", "bn_cnn", "deep_cnn", "mlp", "linear", "vgg", "vgg_small", "vgg_lite", "resnet",
            "resnet_small"} <= set(list_models())
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


@pytest.mark.parametrize("name", list_models())
def test_fixed_input_size_says_whether_a_net_takes_other_sizes(name):
    """resize=progressive trusts this flag to refuse nets whose head is sized for one input size."""
    model = create_model(name, image_size=48).eval()
    try:
        model(torch.rand(2, 1, 32, 32))
        takes_32 = True
    except RuntimeError:
        takes_32 = False
    assert takes_32 != model.fixed_input_size


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


@pytest.mark.parametrize("name", ["vgg", "bn_cnn", "bn_cnn4", "deep_cnn", "resnet"])
def test_folding_batchnorm_keeps_predictions_and_removes_every_batchnorm(name):
    from fer.inference.model import fold_batchnorm

    model = create_model(name)
    for norm in (m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)):  # as if trained
        torch.nn.init.uniform_(norm.weight, 0.5, 1.5)
        torch.nn.init.normal_(norm.bias, std=0.1)
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


def test_residual_block_starts_as_the_identity_and_learns_away_from_it():
    from fer.models.resnet import ResidualBlock

    block = ResidualBlock(8, 8, se_reduction=4)
    x = torch.rand(2, 8, 6, 6)  # non-negative, as a block's input after a ReLU
    block.eval()
    assert torch.equal(block(x), x)  # the last BatchNorm starts at zero: a deep stack starts shallow
    block.train()
    torch.optim.SGD(block.parameters(), lr=0.1).zero_grad()
    (block(x) - 2 * x).square().mean().backward()
    assert block.body[-1].weight.grad.abs().sum() > 0  # ...but the zero scale still receives gradient
    widening = ResidualBlock(8, 16, se_reduction=None).eval()
    assert widening(x).shape == (2, 16, 6, 6)


def test_resnet_rejects_stages_it_cannot_pair():
    with pytest.raises(ValueError, match=r"widths \[64, 128\] and blocks \[1\]"):
        create_model("resnet", widths=(64, 128), blocks=(1,))


@pytest.mark.parametrize("p", [0.1, 0.25, 0.4, 0.5])
@pytest.mark.parametrize("channels_last", [False, True])
def test_dropout_keeps_1_minus_p_rescaled_and_passes_gradient_through_kept_units_only(p, channels_last):
    from fer.models.base import Dropout

    x = torch.rand(16, 32, 20, 20) + 0.5
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_()
    torch.manual_seed(3)
    y = Dropout(p)(x)
    kept = y != 0
    assert abs(kept.float().mean().item() - (1 - p)) < 0.005  # 204,800 draws: 5 standard errors
    torch.testing.assert_close(y[kept], x[kept] / (1 - p))
    assert y.is_contiguous(memory_format=torch.channels_last) == channels_last
    y.sum().backward()
    torch.testing.assert_close(x.grad, kept.float() / (1 - p))
    # the mask is random across positions: no channel or pixel is dropped as a block
    per_channel = kept.float().mean((0, 2, 3))
    assert per_channel.std() < 0.03
    torch.manual_seed(3)
    assert torch.equal(Dropout(p)(x), y)  # seeded by torch's generator, like nn.Dropout


def test_dropout_is_the_identity_in_eval_mode_and_at_p_0():
    from fer.models.base import Dropout

    x = torch.rand(4, 8)
    assert torch.equal(Dropout(0.5).eval()(x), x)
    assert torch.equal(Dropout(0.0)(x), x)
    assert torch.equal(Dropout(1.0)(x), torch.zeros_like(x))


def test_pooling_before_relu_computes_the_same_values_and_gradients():
    from fer.models.base import pool_relu

    x = torch.randn(4, 8, 12, 12)
    x[0, 0, :2, :2] = -1.0  # a window with no positive value (ties after a ReLU)
    x[0, 1, :2, :2] = 0.0
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    relu_then_pool = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.MaxPool2d(2))(a)
    pool_then_relu = torch.nn.Sequential(*pool_relu())(b)
    assert torch.equal(relu_then_pool, pool_then_relu)
    weights = torch.randn_like(relu_then_pool)
    (relu_then_pool * weights).sum().backward()
    (pool_then_relu * weights).sum().backward()
    assert torch.equal(a.grad, b.grad)


def test_a_flatten_head_feeds_a_hidden_layer_and_takes_its_own_size_only():
    flat = create_model("vgg_small", head="flatten", head_width=128).eval()
    assert flat(torch.rand(4, 1, 48, 48)).shape == (4, 7) and flat.features(torch.rand(4, 1, 48, 48)).shape == (4, 128)
    assert flat.fixed_input_size and not create_model("vgg_small").fixed_input_size
    with pytest.raises(RuntimeError):
        flat(torch.rand(2, 1, 32, 32))
    with pytest.raises(ValueError, match="head='avg'"):
        create_model("vgg_small", head="avg")


def test_an_unshuffle_stem_runs_the_first_stage_at_half_resolution_on_every_pixel():
    """Space-to-depth instead of the first stage's pool: the same 3x3 map before pooling, nothing discarded."""
    plain, folded = create_model("vgg_small"), create_model("vgg_small", stem="unshuffle")
    x = torch.rand(2, 1, 48, 48)
    convs = [m for m in folded.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs[0].in_channels == 4 and len(convs) == sum(isinstance(m, torch.nn.Conv2d) for m in plain.modules())
    assert sum(isinstance(m, torch.nn.MaxPool2d) for m in folded.modules()) == 3  # one pool fewer: the stem halved
    assert folded.features[:-2](x).shape == plain.features[:-2](x).shape == (2, 256, 3, 3)
    assert torch.equal(torch.nn.functional.pixel_shuffle(folded.features[0](x), 2), x)
    with pytest.raises(ValueError, match="image_size=45 must be even"):
        create_model("vgg_small", stem="unshuffle", image_size=45)
    with pytest.raises(ValueError, match="stem='strided'"):
        create_model("vgg_small", stem="strided")

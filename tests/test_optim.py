"""SAM (fer/optim.py): the step it takes, its state in checkpoints, and a run that trains with it."""

from __future__ import annotations

import functools
import io

import torch

from conftest import SHORT, compose_train
from fer.optim import SAM
from fer.train import train


def quadratic(seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    a = torch.randn(6, 6, generator=generator)
    return a @ a.T + torch.eye(6), torch.randn(6, generator=generator)


def step_with_closure(optimizer, weights, curvature):
    def closure():
        optimizer.zero_grad()
        loss = 0.5 * weights @ curvature @ weights
        loss.backward()
        return loss
    return optimizer.step(closure)


def test_a_step_descends_along_the_gradient_at_the_worst_nearby_point():
    curvature, start = quadratic()
    weights = torch.nn.Parameter(start.clone())
    optimizer = SAM([weights], base=torch.optim.SGD, rho=0.1, lr=0.01)
    loss = step_with_closure(optimizer, weights, curvature)
    gradient = curvature @ start
    worst = start + 0.1 * gradient / gradient.norm()
    torch.testing.assert_close(weights.detach(), start - 0.01 * curvature @ worst)
    assert loss == 0.5 * start @ curvature @ start  # the loss at the weights, not at the perturbed point


def test_state_round_trips_so_a_resumed_run_continues_exactly():
    curvature, start = quadratic(1)
    make = functools.partial(SAM, base=torch.optim.SGD, rho=0.05, lr=0.02, momentum=0.9, nesterov=True)
    weights = torch.nn.Parameter(start.clone())
    optimizer = make([weights])
    for _ in range(3):
        step_with_closure(optimizer, weights, curvature)
    resumed_weights = torch.nn.Parameter(weights.detach().clone())
    resumed = make([resumed_weights])
    saved = io.BytesIO()
    torch.save(optimizer.state_dict(), saved)  # through bytes, as a checkpoint: no tensor shared with the first
    resumed.load_state_dict(torch.load(io.BytesIO(saved.getvalue()), weights_only=True))
    assert torch.equal(resumed.state_dict()["state"][0]["momentum_buffer"],
                       optimizer.state_dict()["state"][0]["momentum_buffer"])
    for _ in range(3):
        step_with_closure(optimizer, weights, curvature)
        step_with_closure(resumed, resumed_weights, curvature)
    assert torch.equal(weights, resumed_weights)


def test_a_scheduler_moves_the_base_optimisers_learning_rate():
    weights = torch.nn.Parameter(torch.zeros(3))
    optimizer = SAM([weights], base=torch.optim.SGD, lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=10)
    assert optimizer.base.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"] < 0.1
    for _ in range(3):
        weights.grad = torch.ones(3)
        optimizer.step(lambda: None)
        scheduler.step()
    assert optimizer.base.param_groups[0]["lr"] == scheduler.get_last_lr()[0]


def test_training_with_optimizer_sam_learns_the_synthetic_classes(tmp_path, tiny_sources):
    metrics = train(compose_train(tmp_path, *SHORT, f"data.source={tiny_sources['folder']}", "optimizer=sam",
                                  "module.optimizer.lr=0.05"))
    assert metrics["test_acc"] > 0.6

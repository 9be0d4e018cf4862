"""Sharpness-aware minimisation (Foret et al., ICLR 2021) around any torch optimiser.

Each step first moves the weights to the (first-order) worst point within an L2 ball of radius
``rho``, takes the gradient there, moves back, and lets the base optimiser step with that gradient:
it seeks weights whose whole neighbourhood has low loss. The price is a second forward and backward
pass per step: Lightning's training closure runs twice (``train_loss`` therefore averages the loss at
the weights and at the perturbed weights).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch

from fer.errors import ConfigError


class SAM(torch.optim.Optimizer):
    """``base`` is the optimiser class (or a partial of it); ``base_options`` are its arguments (lr, ...).

    The base optimiser owns the parameter groups and the state, so learning-rate schedulers, checkpoints
    and exact resume see it as if it ran alone.
    """

    def __init__(self, params: Iterable, base: Callable[..., torch.optim.Optimizer], rho: float = 0.05,
                 **base_options: Any) -> None:
        if not rho > 0:
            raise ConfigError(f"module.optimizer.rho={rho}: SAM's neighbourhood radius must be positive")
        self.base = base(params, **base_options)
        self.rho = rho
        super().__init__(self.base.param_groups, {**self.base.defaults, "rho": rho})
        self.param_groups = self.base.param_groups

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        if closure is None:
            raise RuntimeError("SAM needs the closure that recomputes the loss and its gradients (Lightning passes it)")
        with torch.enable_grad():
            loss = closure()
        params = [p for group in self.param_groups for p in group["params"] if p.grad is not None]
        grads = [p.grad for p in params]
        ascent = torch._foreach_mul(grads, self.rho / (float(torch.nn.utils.get_total_norm(grads)) + 1e-12))
        torch._foreach_add_(params, ascent)
        with torch.enable_grad():
            closure()
        torch._foreach_sub_(params, ascent)
        self.base.step()
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.base.zero_grad(set_to_none)

    def state_dict(self) -> dict[str, Any]:
        return self.base.state_dict()

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.base.load_state_dict(state_dict)
        self.param_groups = self.base.param_groups

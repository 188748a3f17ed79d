"""Optimisers over parameter dicts, with torch's update rules, and gradient-norm clipping.

Each optimiser keeps references to the arrays in ``params`` and updates them in place, so every holder of the
dict sees the new values. ``grads`` has the same keys and shapes.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from . import _validate as validate


def _check_params(params: Mapping[str, np.ndarray], name: str = "params") -> dict[str, np.ndarray]:
    if not isinstance(params, Mapping) or not params:
        raise TypeError(f"{name} must be a non-empty dict of float arrays, got {type(params).__name__}")
    for key, value in params.items():
        if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
            raise TypeError(
                f"{name}[{key!r}] must be a float ndarray (it is updated in place), got {type(value)}"
            )
    return dict(params)


def _check_grads(params: dict[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    for key, value in params.items():
        if key not in grads:
            raise KeyError(f"grads is missing {key!r}; it needs the keys of params")
        g = validate.as_float(f"grads[{key!r}]", grads[key], value.dtype)
        if g.shape != value.shape:
            raise ValueError(
                f"grads[{key!r}] must have the shape of params[{key!r}] {value.shape}, got {g.shape}"
            )
        out[key] = g
    return out


def _is_real(value: object) -> bool:
    """A real number (NumPy's too), not a bool."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


class SGD:
    """Stochastic gradient descent with momentum, as torch.optim.SGD (no dampening, no Nesterov).

    buf <- momentum * buf + g (buf = g at the first step);   p <- p - lr * buf   (buf = g when momentum = 0)
    """

    def __init__(self, params: dict[str, np.ndarray], lr: float, momentum: float = 0.0) -> None:
        if not lr > 0 or not momentum >= 0:  # written so that NaN is refused too
            raise ValueError(f"lr must be > 0 and momentum >= 0, got lr={lr}, momentum={momentum}")
        self.params, self.lr, self.momentum = _check_params(params), lr, momentum
        self.buffers: dict[str, np.ndarray] = {}

    def step(self, grads: dict[str, np.ndarray]) -> None:
        """One update of every parameter from ``grads`` (same keys and shapes)."""
        for key, g in _check_grads(self.params, grads).items():
            if self.momentum:
                if key in self.buffers:
                    self.buffers[key] *= self.momentum
                    self.buffers[key] += g
                else:
                    self.buffers[key] = g.copy()
                g = self.buffers[key]
            self.params[key] -= self.lr * g


class Adam:
    """Adam (Kingma & Ba 2015), as torch.optim.Adam without weight decay.

    m <- b1 m + (1 - b1) g;   s <- b2 s + (1 - b2) g^2;
    p <- p - lr * (m / (1 - b1^t)) / (sqrt(s / (1 - b2^t)) + eps)
    """

    def __init__(
        self,
        params: dict[str, np.ndarray],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        if not isinstance(betas, (tuple, list)) or len(betas) != 2 or not all(_is_real(b) for b in betas):
            raise ValueError(f"betas must be a pair of numbers (beta1, beta2) in [0, 1), got {betas!r}")
        if not lr > 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1) or not eps >= 0:  # NaN refused too
            raise ValueError(f"need lr > 0, 0 <= betas < 1, eps >= 0; got lr={lr}, betas={betas}, eps={eps}")
        self.params, self.lr, self.betas, self.eps = _check_params(params), lr, betas, eps
        self.m = {key: np.zeros_like(value) for key, value in self.params.items()}
        self.s = {key: np.zeros_like(value) for key, value in self.params.items()}
        self.t = 0

    def step(self, grads: dict[str, np.ndarray]) -> None:
        """One update of every parameter from ``grads`` (same keys and shapes)."""
        b1, b2 = self.betas
        self.t += 1
        for key, g in _check_grads(self.params, grads).items():
            self.m[key] = b1 * self.m[key] + (1 - b1) * g  # first moment
            self.s[key] = b2 * self.s[key] + (1 - b2) * g * g  # second moment
            m_hat = self.m[key] / (1 - b1**self.t)  # bias corrections
            s_hat = self.s[key] / (1 - b2**self.t)
            self.params[key] -= self.lr * m_hat / (np.sqrt(s_hat) + self.eps)


def clip_grad_norm(grads: dict[str, np.ndarray], max_norm: float, error_if_nonfinite: bool = True) -> float:
    """Scale every gradient in place by min(1, max_norm / (norm + 1e-6)), norm = sqrt(sum of all squares).

    As torch.nn.utils.clip_grad_norm_, except that a non-finite norm raises FloatingPointError by default
    (torch's default is to carry on with NaNs).

    Returns:
        The total norm before clipping.
    """
    if not max_norm > 0:  # written so that NaN is refused too
        raise ValueError(f"max_norm must be > 0, got {max_norm}")
    arrays = list(_check_params(grads, "grads").values())  # float ndarrays: they are scaled in place
    total = float(np.sqrt(sum(float(np.sum(np.square(a, dtype=np.float64))) for a in arrays)))
    if not np.isfinite(total) and error_if_nonfinite:
        raise FloatingPointError(f"the total gradient norm is {total}; grads hold NaN or inf")
    coef = min(1.0, max_norm / (total + 1e-6))
    for value in arrays:
        value *= coef
    return total

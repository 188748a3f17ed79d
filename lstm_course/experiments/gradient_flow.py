"""How much gradient reaches back in time: norms of the BPTT Jacobian product, with the NumPy reference.

Backpropagation from h_T to an earlier step multiplies one Jacobian per step::

    dh_T/dh_t = prod_{s=t+1..T} dh_s/dh_{s-1},   dh_s/dh_{s-1} = diag(1 - h_s^2) W_hh   (tanh RNN).

We get every row of these matrices at once: the forward pass runs H identical copies of one sequence as a
batch, and the backward pass starts from dh_T = I (row b asks for the gradient of unit b of h_T). Stepping
back with the reference's ``*_step_backward`` then carries the whole Jacobian, step by step, as training
would.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from lstm_course.reference import cells, init_params


class GradientFlow(NamedTuple):
    """Spectral norms of Jacobians of h_T, indexed by the lag k = T - t (k = 0 is the last step).

    lags: (T,) 0 .. T-1. state: (T,) ||dh_T/dh_t|| (for the LSTM the state is (h_t, c_t) stacked).
    input: (T,) ||dh_T/dx_t||, the gradient that reaches an input k steps back.
    """

    lags: np.ndarray
    state: np.ndarray
    input: np.ndarray


def with_spectral_radius(weight: np.ndarray, radius: float) -> np.ndarray:
    """``weight`` (H, H) rescaled so that its largest |eigenvalue| is ``radius``."""
    weight = np.asarray(weight)
    if weight.ndim != 2 or weight.shape[0] != weight.shape[1]:
        raise ValueError(f"weight must be square (H, H), got shape {weight.shape}")
    if not radius > 0:
        raise ValueError(f"radius must be positive, got {radius!r}")
    return weight * (radius / np.max(np.abs(np.linalg.eigvals(weight))))


def _spectral_norms(jacobians: np.ndarray) -> np.ndarray:
    """(K,) the largest singular value of each of K matrices (K, M, N)."""
    return np.linalg.norm(jacobians, ord=2, axis=(1, 2))


def jacobian_norms(
    cell: str, params: dict, x: np.ndarray, initial: Sequence[np.ndarray] | None = None
) -> GradientFlow:
    """Norms of dh_T/dh_t and dh_T/dx_t for every t, for one sequence ``x`` (T, D).

    ``cell`` is any cell of ``lstm_course.reference.cells``; its states (h, or h and c) are what a step
    carries, and the state norm covers all of them. ``params`` are the reference's (weight_ih (G*H, D),
    weight_hh (G*H, H), ...). ``initial`` holds one (H,) vector per state; None starts from zeros.
    """
    state_names = cells.lookup(cell).spec.states
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"x must be one sequence (T, D), got shape {x.shape}")
    H = params["weight_hh"].shape[1]
    xs = np.repeat(x[:, None, :], H, axis=1)  # (T, H, D): H copies, one per row of the Jacobian
    if initial is None:
        initial = [np.zeros(H) for _ in state_names]
    if len(initial) != len(state_names) or any(np.shape(v) != (H,) for v in initial):
        raise ValueError(f"initial must hold one (H,) = ({H},) vector per state {state_names}")
    states = tuple(np.tile(np.asarray(v, dtype=np.float64), (H, 1)) for v in initial)  # h (and c): (H, H)
    caches = []
    for x_t in xs:
        states, cache = cells.step_forward(cell, x_t, states, params)
        caches.append(cache)
    # row b of each: d h_T[b] / d (that state); only h_T is differentiated, so dh = I and dc = 0
    state_grads = (np.eye(H),) + tuple(np.zeros((H, H)) for _ in state_names[1:])
    state, inputs = [], []
    for cache in reversed(caches):  # lag k = 0, 1, ...: state_grads hold dh_T/d(state_t)
        state.append(np.hstack(state_grads))  # (H, S*H) for S states
        dx, state_grads, _ = cells.step_backward(cell, state_grads, cache)
        inputs.append(dx)
    return GradientFlow(
        np.arange(len(caches)), _spectral_norms(np.array(state)), _spectral_norms(np.array(inputs))
    )


def fixed_point_rnn(weight_hh: np.ndarray, h_star: np.ndarray) -> dict[str, np.ndarray]:
    """Reference tanh-RNN parameters (input size 1, input weights 0) for which ``h_star`` (H,) is a fixed
    point under zero input: the bias is chosen so that tanh(h_star W_hh^T + b) = h_star."""
    h_star = np.asarray(h_star, dtype=np.float64)
    H = h_star.shape[0]
    if weight_hh.shape != (H, H) or not np.all(np.abs(h_star) < 1):
        raise ValueError(f"need weight_hh ({H}, {H}) and |h_star| < 1, got {weight_hh.shape} and {h_star}")
    bias = np.arctanh(h_star) - h_star @ weight_hh.T  # a = h W^T + b must equal atanh(h)
    return {
        "weight_ih": np.zeros((H, 1)),
        "weight_hh": np.asarray(weight_hh, dtype=np.float64),
        "bias_ih": bias,
        "bias_hh": np.zeros(H),
    }


def decay_per(norms: np.ndarray, every: int = 10, start: int = 1) -> float:
    """The factor by which ``norms`` (indexed by lag) change per ``every`` steps: a least-squares fit."""
    norms = np.asarray(norms, dtype=np.float64)
    lags = np.arange(norms.size)
    keep = (lags >= start) & (norms > 0) & np.isfinite(norms)
    if keep.sum() < 2:
        raise ValueError("need at least two positive, finite norms after `start` to fit a decay rate")
    slope = np.polyfit(lags[keep], np.log(norms[keep]), 1)[0]
    return float(np.exp(every * slope))


def rnn_by_radius(
    radii: Sequence[float], *, hidden_size: int = 64, T: int = 100, input_size: int = 8, seed: int = 0
) -> tuple[np.ndarray, dict[float, dict[str, np.ndarray]]]:
    """One N(0, 1) sequence x (T, D) and, per rho in ``radii``, reference tanh-RNN parameters whose W_hh is
    one random matrix rescaled to spectral radius rho."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, input_size))
    base = init_params("rnn", input_size, hidden_size, rng)
    return x, {
        radius: dict(base, weight_hh=with_spectral_radius(base["weight_hh"], radius)) for radius in radii
    }


def rnn_flow_by_radius(
    radii: Sequence[float], *, hidden_size: int = 64, T: int = 100, input_size: int = 8, seed: int = 0
) -> dict[float, GradientFlow]:
    """The gradient flow of each network of :func:`rnn_by_radius` on its sequence."""
    x, nets = rnn_by_radius(radii, hidden_size=hidden_size, T=T, input_size=input_size, seed=seed)
    return {radius: jacobian_norms("rnn", params, x) for radius, params in nets.items()}


def flow_by_cell(
    forget_biases: Sequence[float] = (0.0, 1.0, 2.0),
    *,
    hidden_size: int = 128,
    T: int = 200,
    input_size: int = 8,
    seed: int = 0,
) -> dict[str, GradientFlow]:
    """A tanh RNN and LSTMs with each forget-gate bias, at torch's default init, on the same input."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, input_size))
    flows = {"tanh RNN": jacobian_norms("rnn", init_params("rnn", input_size, hidden_size, rng), x)}
    for bias in forget_biases:
        params = init_params("lstm", input_size, hidden_size, rng, forget_bias=bias)
        flows[f"LSTM, forget bias {bias:g}"] = jacobian_norms("lstm", params, x)
    return flows

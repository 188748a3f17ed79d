"""Many adding-problem runs trained as ONE batched model: the seeds (and forget biases) of an experiment.

Each run is an LSTM ``SequenceRegressor`` (a one-layer LSTM, then a Linear on h_T) that
:func:`~lstm_course.experiments.adding.train_adding` would train alone. Here the S runs' weights are stacked
along a leading run axis (``weight_hh`` (S, 4H, H), ...), so one ``torch.bmm`` per time step advances all of
them, and the Python overhead of a step is paid once instead of S times. Nothing mixes between runs:

- run s starts from the weights ``train_adding`` would give it (``torch.manual_seed(seed)``, then the model,
  then its forget bias) and draws its batches from its own ``np.random.default_rng(seed)``;
- the loss is the sum of the runs' own mean squared errors, so run s's gradient is its own loss's;
- each run's gradient is clipped by its own norm, as ``clip_grad_norm_`` clips a model alone;
- Adam is elementwise, so one Adam over the stacked weights is S Adams;
- a run stops once the mean of its last ``target_window`` losses is below ``target_loss``, and leaves the
  batch (the others go on).

So run s trains exactly as it would alone, up to the order of floating-point additions (the tests compare a
batched run with single runs).

Letters: S (runs), T (time), B (batch), D (input size, 2), H (hidden size).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor

from lstm_course.experiments.adding import AddingConfig, adding_model
from lstm_course.experiments.threads import torch_threads
from lstm_course.tasks import adding_batch
from lstm_course.train import TrainConfig

WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "head_weight", "head_bias")  # the stacked names


class RunSpec(NamedTuple):
    """One run of a batch: its seed (weights and batches) and its forget bias (None: torch's init)."""

    seed: int
    forget_bias: float | None


class BatchedRun(NamedTuple):
    """What one run of a batch did: its losses per step, the step it stopped at the target (None: it used
    all the steps), and how many steps it trained."""

    spec: RunSpec
    loss: list[float]
    solved_at: int | None
    steps: int


def initial_weights(config: AddingConfig, spec: RunSpec) -> dict[str, Tensor]:
    """The weights run ``spec`` starts from, exactly those of ``train_adding`` (seeded torch, then the LSTM
    model of ``config`` with ``spec``'s forget bias): {name: tensor} with the names of :data:`WEIGHTS`."""
    torch.manual_seed(spec.seed)
    model = adding_model(replace(config, cell="lstm", forget_bias=spec.forget_bias))
    lstm, head = model.rnn, model.head
    return {
        "weight_ih": lstm.weight_ih_l0.detach().clone(),  # (4H, D)
        "weight_hh": lstm.weight_hh_l0.detach().clone(),  # (4H, H)
        "bias_ih": lstm.bias_ih_l0.detach().clone(),  # (4H,)
        "bias_hh": lstm.bias_hh_l0.detach().clone(),  # (4H,)
        "head_weight": head.weight.detach().clone(),  # (1, H)
        "head_bias": head.bias.detach().clone(),  # (1,)
    }


def stacked_weights(config: AddingConfig, specs: Sequence[RunSpec]) -> dict[str, Tensor]:
    """Every run's initial weights stacked along a new leading axis: {name: (S, ...)}."""
    each = [initial_weights(config, spec) for spec in specs]
    return {name: torch.stack([weights[name] for weights in each]) for name in WEIGHTS}


def batched_lstm_plain(x: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias: Tensor) -> Tensor:
    """S LSTMs at once, with autograd: x (T, S, B, D), weights (S, 4H, D), (S, 4H, H), bias b_ih + b_hh
    (S, 4H) -> h_T (S, B, H), run s with its own weights. The equations of ``cells.lstm_step`` with a run axis.

    The reference for :class:`BatchedLSTMFunction`, which computes the same with a hand-written backward.
    """
    T, S, B, D = x.shape
    H = weight_hh.shape[-1]
    h = x.new_zeros(S, B, H)
    c = x.new_zeros(S, B, H)
    for t in range(T):
        # W_ih x_t + b + W_hh h: (S, B, D) @ (S, D, 4H) + (S, B, H) @ (S, H, 4H), blocks i, f, g, o
        gates = torch.baddbmm(bias.unsqueeze(1), x[t], weight_ih.transpose(1, 2)) + torch.bmm(
            h, weight_hh.transpose(1, 2)
        )
        i, f, g, o = gates.chunk(4, dim=-1)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g  # c' = f * c + i * g
        h = o * torch.tanh(c)  # h' = o * tanh(c')
    return h


def _double_g_rows(w: Tensor) -> Tensor:
    """w (S, 4H, ...) with the g rows doubled, so one sigmoid gives every gate (``fast.gate_scale`` with a
    run axis in front; doubling is exact)."""
    H = w.shape[1] // 4
    w = w.clone()
    w[:, 2 * H : 3 * H] *= 2
    return w


class BatchedLSTMFunction(torch.autograd.Function):
    """S LSTMs at once, BPTT by hand: (x (T, S, B, D), W_ih (S, 4H, D), W_hh (S, 4H, H), b (S, 4H)) -> h_T
    (S, B, H), with zero initial states. The forward and backward of ``lstm_course.nn.fast.LSTMFunction``
    with a run axis: each step is one ``bmm`` over the runs."""

    @staticmethod
    def forward(ctx, x, weight_ih, weight_hh, bias):
        T, S, B, D = x.shape
        H = weight_hh.shape[-1]
        w_ih_t = _double_g_rows(weight_ih).transpose(1, 2)  # (S, D, 4H), g doubled
        w_hh_t = _double_g_rows(weight_hh).transpose(1, 2)  # (S, H, 4H), g doubled
        bias_scaled = _double_g_rows(bias.unsqueeze(-1)).view(S, 1, 4 * H)
        x_by_run = x.transpose(0, 1).reshape(S, T * B, D)  # (S, T*B, D)
        # W_ih x_t + b for every step at once, then time-major: (T, S, B, 4H); each step adds W_hh h_{t-1}
        gates = torch.baddbmm(bias_scaled, x_by_run, w_ih_t).view(S, T, B, 4 * H).transpose(0, 1).contiguous()
        hs = x.new_zeros(T + 1, S, B, H)  # hs[t] = h_{t-1}
        cs = x.new_zeros(T + 1, S, B, H)  # cs[t] = c_{t-1}
        tanh_c = x.new_empty(T, S, B, H)
        for t in range(T):
            gates[t].baddbmm_(hs[t], w_hh_t).sigmoid_()  # i, f, o; and sigma(2 a_g) in g's block
            i, f, g, o = gates[t].chunk(4, dim=-1)
            g.mul_(2).sub_(1)  # g = tanh(a_g) = 2 sigma(2 a_g) - 1
            torch.mul(f, cs[t], out=cs[t + 1]).addcmul_(i, g)  # c = f * c_prev + i * g
            torch.tanh(cs[t + 1], out=tanh_c[t])
            torch.mul(o, tanh_c[t], out=hs[t + 1])  # h = o * tanh(c)
        ctx.save_for_backward(x_by_run, weight_hh, gates, hs, cs, tanh_c)
        return hs[T].clone()

    @staticmethod
    def backward(ctx, dh_last):
        x_by_run, weight_hh, gates, hs, cs, tanh_c = ctx.saved_tensors
        T, S, B, H = tanh_c.shape
        dgates = torch.empty_like(gates)  # (T, S, B, 4H): dL/da for the pre-activations of i, f, g, o
        dh = dh_last.contiguous().clone()  # dL/dh_t, (S, B, H)
        dc = torch.zeros_like(dh)  # dL/dc_t from later steps
        dh_to_dc = torch.empty_like(dh)
        for t in reversed(range(T)):
            i, f, g, o = gates[t].chunk(4, dim=-1)
            di, df, dg, do = dgates[t].chunk(4, dim=-1)
            torch.addcmul(gates[t], gates[t], gates[t], value=-1, out=dgates[t])  # sigma' = sigma - sigma^2
            torch.addcmul(torch.ones_like(g), g, g, value=-1, out=dg)  # tanh' = 1 - g^2
            torch.addcmul(torch.ones_like(dh), tanh_c[t], tanh_c[t], value=-1, out=dh_to_dc).mul_(o)
            dc.addcmul_(dh, dh_to_dc)  # dc += dh * o * (1 - tanh(c)^2), by h = o * tanh(c)
            do.mul_(tanh_c[t]).mul_(dh)  # do = dh * tanh(c) * sigma'(a_o), by h = o * tanh(c)
            di.mul_(g).mul_(dc)  # di = dc * g * sigma'(a_i), by c = f * c_prev + i * g
            df.mul_(cs[t]).mul_(dc)  # df = dc * c_prev * sigma'(a_f), by c = f * c_prev + i * g
            dg.mul_(i).mul_(dc)  # dg = dc * i * tanh'(a_g), by c = f * c_prev + i * g
            dc.mul_(f)  # dc_prev = dc * f, by c = f * c_prev + i * g
            torch.bmm(dgates[t], weight_hh, out=dh)  # dh_prev = da @ W_hh, by a = ... + W_hh h_prev
        dgates_by_run = dgates.transpose(0, 1).reshape(S, T * B, 4 * H)  # (S, T*B, 4H)
        d_weight_ih = torch.bmm(dgates_by_run.transpose(1, 2), x_by_run)  # sum_t da_t^T x_t, (S, 4H, D)
        hs_by_run = hs[:T].transpose(0, 1).reshape(S, T * B, H)  # h_{t-1} of every step, (S, T*B, H)
        d_weight_hh = torch.bmm(dgates_by_run.transpose(1, 2), hs_by_run)  # sum_t da_t^T h_{t-1}, (S, 4H, H)
        d_bias = dgates_by_run.sum(dim=1)  # (S, 4H)
        return None, d_weight_ih, d_weight_hh, d_bias


def batched_regressor(weights: dict[str, Tensor], x: Tensor, fast: bool = True) -> Tensor:
    """S LSTM regressors at once: x (T, S, B, D) -> predictions (S, B, 1), run s with its own weights: the
    LSTM's h_T (:class:`BatchedLSTMFunction`, or :func:`batched_lstm_plain` with ``fast=False``), then the
    head y = W_head h_T + b_head."""
    bias = weights["bias_ih"] + weights["bias_hh"]  # (S, 4H)
    lstm = BatchedLSTMFunction.apply if fast else batched_lstm_plain
    h_last = lstm(x, weights["weight_ih"], weights["weight_hh"], bias)  # (S, B, H)
    # (S, B, H) @ (S, H, 1) -> (S, B, 1)
    return torch.baddbmm(weights["head_bias"].unsqueeze(1), h_last, weights["head_weight"].transpose(1, 2))


def clip_each_run_(grads: Sequence[Tensor], clip: float | None) -> None:
    """Scale each run's slice of ``grads`` (each (S, ...)) to total norm at most ``clip``, in place, the
    rule of ``torch.nn.utils.clip_grad_norm_`` applied to every run alone."""
    if clip is None:
        return
    S = grads[0].shape[0]
    # the norm of each run's gradient over all its tensors: the norm of its per-tensor norms, (S,)
    norms = torch.linalg.vector_norm(
        torch.stack([torch.linalg.vector_norm(g.reshape(S, -1), dim=1) for g in grads]), dim=0
    )
    scale = (clip / (norms + 1e-6)).clamp(max=1.0)  # clip_grad_norm_'s coefficient, (S,)
    for g in grads:
        g.mul_(scale.view(S, *([1] * (g.dim() - 1))))


class AdamState(NamedTuple):
    """Adam's moments for the stacked weights: {name: (S, ...)}, both."""

    exp_avg: dict[str, Tensor]
    exp_avg_sq: dict[str, Tensor]


def adam_step_(
    weights: dict[str, Tensor], grads: dict[str, Tensor], state: AdamState, step: int, lr: float
) -> None:
    """One step of torch.optim.Adam's default update (betas 0.9, 0.999, eps 1e-8), in place; ``step`` counts
    from 1. It is elementwise, so the stacked runs do not mix."""
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    bias_correction1 = 1 - beta1**step
    bias_correction2_sqrt = (1 - beta2**step) ** 0.5
    for name, weight in weights.items():
        grad, m, v = grads[name], state.exp_avg[name], state.exp_avg_sq[name]
        m.lerp_(grad, 1 - beta1)  # m = beta1 m + (1 - beta1) g
        v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)  # v = beta2 v + (1 - beta2) g^2
        denominator = (v.sqrt() / bias_correction2_sqrt).add_(eps)  # sqrt(v / (1 - beta2^step)) + eps
        weight.addcdiv_(m, denominator, value=-lr / bias_correction1)  # w -= lr m / (1 - beta1^step) / ...


def adding_batches_of(rngs: Sequence[np.random.Generator], batch_size: int, T: int) -> tuple[Tensor, Tensor]:
    """One adding-problem batch per run, each from its own rng: x (T, S, B, 2), y (S, B, 1), float32."""
    pairs = [adding_batch(batch_size, T, rng) for rng in rngs]
    x = np.stack([x for x, _ in pairs], axis=1)  # (T, S, B, 2)
    return torch.from_numpy(x), torch.from_numpy(np.stack([y for _, y in pairs]))


def train_batched(
    config: AddingConfig,
    specs: Sequence[RunSpec],
    training: TrainConfig,
    dtype: torch.dtype = torch.float32,
) -> list[BatchedRun]:
    """Train the LSTM runs ``specs`` on the adding problem of ``config`` as one batched model.

    ``training`` gives the steps, Adam's learning rate, the clipping norm and the stopping rule
    (``target_loss``, ``target_window``); its seed is unused (each run has its own). ``config.fast`` picks
    the hand-written BPTT; ``dtype`` the float type of weights and batches (the tests use float64). Returns
    one :class:`BatchedRun` per spec, in order.
    """
    if config.cell != "lstm":
        raise ValueError(f"train_batched: config.cell must be 'lstm', got {config.cell!r}")
    if training.optimizer != "adam":
        raise ValueError(f"train_batched: training.optimizer must be 'adam', got {training.optimizer!r}")
    if not specs:
        raise ValueError("train_batched: specs is empty")
    weights = {name: w.to(dtype) for name, w in stacked_weights(config, specs).items()}
    state = AdamState(
        {name: torch.zeros_like(w) for name, w in weights.items()},
        {name: torch.zeros_like(w) for name, w in weights.items()},
    )
    rngs = [np.random.default_rng(spec.seed) for spec in specs]
    losses: list[list[float]] = [[] for _ in specs]
    solved_at: list[int | None] = [None] * len(specs)
    active = list(range(len(specs)))  # the runs still training; row k of the stacks is run active[k]
    window = training.target_window
    with torch_threads(config.threads):
        for step in range(1, training.steps + 1):
            x, y = adding_batches_of([rngs[run] for run in active], config.batch_size, config.T)
            x, y = x.to(dtype), y.to(dtype)
            for w in weights.values():
                w.requires_grad_(True)
            # each run's mean squared error, (S,); their sum's gradient is every run's own
            run_losses = (batched_regressor(weights, x, config.fast) - y).pow(2).mean(dim=(1, 2))
            # b_ih and b_hh enter as their sum, so autograd may hand both the same tensor: copy before the
            # in-place clipping scales it twice
            grads = {
                name: grad.clone()
                for name, grad in zip(weights, torch.autograd.grad(run_losses.sum(), list(weights.values())))
            }
            for w in weights.values():
                w.requires_grad_(False)
            values = run_losses.tolist()
            if not all(np.isfinite(values)):
                raise FloatingPointError(f"train_batched: a run's loss is not finite at step {step}: {values}")
            clip_each_run_(list(grads.values()), training.clip)
            adam_step_(weights, grads, state, step, training.lr)
            finished = []
            for k, run in enumerate(active):
                losses[run].append(values[k])
                recent = losses[run][-window:]
                if training.target_loss is not None and len(recent) == window:
                    if sum(recent) / window < training.target_loss:
                        solved_at[run] = step
                        finished.append(k)
            if finished:
                keep = torch.tensor([k for k in range(len(active)) if k not in finished])
                active = [run for k, run in enumerate(active) if k not in finished]
                if not active:
                    break
                weights = {name: w[keep] for name, w in weights.items()}
                state = AdamState(
                    {name: m[keep] for name, m in state.exp_avg.items()},
                    {name: v[keep] for name, v in state.exp_avg_sq.items()},
                )
    return [BatchedRun(spec, losses[run], solved_at[run], len(losses[run])) for run, spec in enumerate(specs)]

"""The fast path (``fast=True``): the equations of ``cells.py`` with a hand-written backward through time.

Three things make it fast, each mirroring the NumPy reference's forward/backward pair:

1. The input projection W_ih x_t + b of many steps is one big matmul (for the LSTM per cache-sized chunk of
   steps, for the GRU and RNN all T at once); only the recurrent matmul h_{t-1} @ W_hh^T runs per step.
2. Every gate is fused into one (B, G*H) block, updated in place (sigmoid_, tanh_, addcmul_) in preallocated
   buffers, so each step launches a handful of kernels and allocates almost nothing.
3. A ``torch.autograd.Function`` per cell runs BPTT by hand: autograd records ONE node per layer and direction
   instead of ~15 per step, and the weight gradients are again big matmuls (the LSTM's per chunk of steps,
   while the chunk's gate gradients are in cache; on a machine with slow memory that matters more than FLOPs).

The Functions take time-major x (T, B, D), initial states (B, H), the weights, and an optional bool mask
(T, B, 1) (False on padded steps, which keep the state and output zeros). A reverse direction flips time
before and after.
Double backward is not supported. Results equal the plain path to rounding (tests check float64 to 1e-9).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor


def refuse_double_backward(layer: str) -> None:
    """Raise when autograd records this backward (create_graph=True): its in-place BPTT has no derivative."""
    if torch.is_grad_enabled():
        raise RuntimeError(
            f"{layer} fast path (fast=True): double backward (backward or autograd.grad with "
            "create_graph=True) is not supported; use fast=False for higher-order gradients"
        )


def input_projection(x: Tensor, w_ih: Tensor, bias: Tensor | None, out: Tensor | None = None) -> Tensor:
    """W_ih x_t + bias for all steps at once: x (T, B, D) -> (T, B, G*H), a fresh buffer to overwrite
    (or written into `out`, contiguous (T, B, G*H))."""
    T, B, D = x.shape
    x2 = x.reshape(T * B, D)
    o = None if out is None else out.view(T * B, -1)
    res = (
        torch.mm(x2, w_ih.t(), out=o) if bias is None else torch.addmm(bias, x2, w_ih.t(), out=o)
    )  # (T*B, G*H)
    return res.view(T, B, -1)


def weight_grads(dpre: Tensor, inputs: Tensor) -> Tensor:
    """Sum over t and b of dpre_t^T inputs_t: dpre (T, B, M), inputs (T, B, N) -> (M, N), one matmul."""
    T, B, M = dpre.shape
    return torch.mm(dpre.reshape(T * B, M).t(), inputs.reshape(T * B, -1))


def input_grad(dpre: Tensor, w_ih: Tensor) -> Tensor:
    """dx_t = dpre_t @ W_ih for every step at once: dpre (T, B, G*H) -> dx (T, B, D)."""
    T, B, M = dpre.shape
    return torch.mm(dpre.reshape(T * B, M), w_ih).view(T, B, -1)


def tanh_(a: Tensor) -> Tensor:
    """tanh in place, as 2 sigmoid(2a) - 1: the same function, and on the CPU several times faster than
    torch.tanh (measured 42 us against 6 us for a (64, 128) float32 block)."""
    return a.mul_(2).sigmoid_().mul_(2).sub_(1)


def keep_padded(new: Tensor, old: Tensor, m: Tensor | None, out: Tensor) -> None:
    """out = new where m (a real step), old on padding; m (B, 1) bool or None."""
    if m is None:
        out.copy_(new)
    else:
        torch.where(m, new, old, out=out)


def gate_scale(w: Tensor, H: int) -> Tensor:
    """w (4H, ...) with the g rows doubled: then sigma over the whole (B, 4H) row gives sigma(2 a_g), and
    tanh(a_g) = 2 sigma(2 a_g) - 1. Doubling is exact in floating point, so results are unchanged."""
    w = w.clone()
    w[2 * H : 3 * H] *= 2
    return w


class LSTMFunction(torch.autograd.Function):
    """LSTM layer, one direction: (x, h0, c0, W_ih, W_hh, b_ih, b_hh, mask) -> (out (T, B, H), h_T, c_T)."""

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, mask):
        T, B, D = x.shape
        H = h0.shape[-1]
        bias = None if b_ih is None else gate_scale(b_ih + b_hh, H)
        w_ih_s = gate_scale(w_ih, H)
        # gates i f g o (first their pre-activations, g doubled) in cache-sized chunks of steps, step t in
        # gates[t // steps]: the allocator reuses such blocks, while one (T, B, 4H) block would be fresh
        # memory (page faults) on every call
        steps = chunk_steps(T, B, H)
        gates = [x.new_empty(min(steps, T - t0), B, 4 * H) for t0 in range(0, T, steps)]
        # row t of xh is [x_t, h_{t-1}]: the backward gets dW_ih and dW_hh from one matmul over it
        xh = x.new_empty(T + 1, B, D + H)
        xh[:T, :, :D] = x
        xh[T, :, :D] = 0
        hs = xh[:, :, D:]  # hs[t] = h_{t-1}, the state entering step t
        cs = x.new_empty(T + 1, B, H)
        tanh_c = x.new_empty(T, B, H)  # tanh(c_t) of the new cell state, before any padding blend
        hs[0], cs[0] = h0, c0
        # without padding the new states go straight into hs, cs; with it, into buffers blended below
        h_new, c_new = (hs[1:], cs[1:]) if mask is None else (x.new_empty(T, B, H), x.new_empty(T, B, H))
        w_hh_t = gate_scale(w_hh, H).t()
        for t in range(T):
            if t % steps == 0:  # W_ih x for the next chunk of steps in one matmul, so it is still in cache
                chunk = gates[t // steps]
                input_projection(x[t : t + len(chunk)], w_ih_s, None, out=chunk)
            a = gates[t // steps][t % steps].addmm_(hs[t], w_hh_t)  # (B, 4H): W_ih x_t + W_hh h_{t-1}
            if bias is not None:  # added here, in cache: a broadcast into the chunk costs a pass over memory
                a.add_(bias)
            a.sigmoid_()  # sigma(W_ih x_t + W_hh h_{t-1} + b), with sigma(2 a_g) for g
            i, f, g, o = a.chunk(4, dim=1)
            g.mul_(2).sub_(1)  # g = tanh(a_g) = 2 sigma(2 a_g) - 1
            torch.mul(f, cs[t], out=c_new[t]).addcmul_(i, g)  # c = f * c_prev + i * g
            torch.mul(c_new[t], 2, out=tanh_c[t]).sigmoid_().mul_(2).sub_(1)  # tanh(c) = 2 sigma(2c) - 1
            torch.mul(o, tanh_c[t], out=h_new[t])  # h = o * tanh(c)
            if mask is not None:  # a padded step keeps the old state
                torch.where(mask[t], c_new[t], cs[t], out=cs[t + 1])
                torch.where(mask[t], h_new[t], hs[t], out=hs[t + 1])
        ctx.save_for_backward(xh, w_ih, w_hh, cs, tanh_c, mask, *gates)
        ctx.has_bias = b_ih is not None
        # the outputs are fresh contiguous tensors (the caller may edit them in place); padding outputs zeros
        contiguous = torch.contiguous_format
        out = hs[1:].clone(memory_format=contiguous) if mask is None else h_new.mul_(mask)
        return out, hs[T].clone(memory_format=contiguous), cs[T].clone()

    @staticmethod
    def backward(ctx, dout, dh_T, dc_T):
        refuse_double_backward("LSTM")
        xh, w_ih, w_hh, cs, tanh_c, mask, *gates = ctx.saved_tensors
        T, B, H = tanh_c.shape
        D = xh.shape[-1] - H
        x = xh[:, :, :D]  # (T + 1, B, D): x_t, and a zero row after the last step
        m = None if mask is None else mask.to(x.dtype)  # (T, B, 1): 1 on real steps, 0 on padding
        if m is not None:
            dout = dout * m  # a padded step outputs zeros: no gradient enters the layer there
        # BPTT runs over chunks of steps; each chunk's gate gradients feed the weight-gradient matmuls while
        # they are still in cache, and the (steps, B, 4H) buffer is reused instead of a (T, B, 4H) one
        steps = chunk_steps(T, B, H)
        dgates_buf = x.new_empty(steps, B, 4 * H)  # dL/d(pre-activation) of i, f, g, o
        bufs = StepBuffers(one=x.new_ones(B, H), k=x.new_empty(B, H))
        spare = x.new_empty(B, H)  # receives dL/dh_{t-1}; swapped with dh every step
        dx = x.new_empty(T, B, D) if ctx.needs_input_grad[0] else None
        dw = x.new_zeros(4 * H, D + H)  # [dW_ih, dW_hh]
        db = x.new_zeros(4 * H) if ctx.has_bias else None
        dh = dh_T + dout[T - 1]  # dL/dh_t: from step t+1 and from the output out_t
        dc = dc_T.clone()  # dL/dc_t
        for t0 in reversed(range(0, T, steps)):  # the forward's chunks of steps t0 <= t < t1, last first
            t1 = min(t0 + steps, T)
            dgates = dgates_buf[: t1 - t0]
            for t in reversed(range(t0, t1)):
                mt = None if m is None else (mask[t], m[t])
                dout_prev = dout[t - 1] if t > 0 else None
                state = (tanh_c[t], cs[t], dh, dc)
                dh_prev = lstm_step_backward(
                    dgates[t - t0], gates[t // steps][t - t0], state, w_hh, bufs, mt, dout_prev, out=spare
                )
                dh, spare = dh_prev, dh
            dg2 = dgates.view(-1, 4 * H)  # ((t1 - t0) B, 4H)
            dw.addmm_(dg2.t(), xh[t0:t1].view(-1, D + H))  # [dW_ih, dW_hh] = sum_t dgates_t^T [x_t, h_{t-1}]
            if db is not None:
                db.add_(dg2.sum(dim=0))  # db = sum_t sum_b dgates_t
            if dx is not None:
                torch.mm(dg2, w_ih, out=dx[t0:t1].view(-1, D))  # dx_t = dgates_t @ W_ih
        dw_ih, dw_hh = dw[:, :D].contiguous(), dw[:, D:].contiguous()
        return dx, dh, dc, dw_ih, dw_hh, db, db, None


CHUNK_ELEMENTS = 1 << 20  # gate elements per chunk of steps (4 MiB in float32): stays in the L2/L3 caches


def chunk_steps(T: int, B: int, H: int) -> int:
    """How many steps of (B, 4H) gates make one cache-sized chunk (at least 1, at most T)."""
    return max(1, min(T, CHUNK_ELEMENTS // (B * 4 * H)))


class StepBuffers(NamedTuple):
    """Scratch (B, H) tensors that every backward step reuses."""

    one: Tensor  # ones
    k: Tensor  # o * tanh'(c)


def lstm_step_backward(d, s, state, w_hh, bufs, mt, dout_prev, out):
    """One LSTM step backward. Fills d (B, 4H) with dL/d(pre-activation) of i, f, g, o; turns dc (B, H) into
    dL/dc_{t-1} in place and writes dL/dh_{t-1} (B, H) into out, plus dout_prev (out_{t-1}'s gradient) if any.

    s (B, 4H): the activated gates i f g o; state = (tanh(c_t), c_{t-1}, dL/dh_t, dL/dc_t), each (B, H);
    mt: None, or (bool mask (B, 1), float mask (B, 1)) of this step."""
    tc, c_prev, dh, dc = state
    H = dh.shape[-1]
    i, f, g, o = s.chunk(4, dim=1)
    di, df, dg, do = d.chunk(4, dim=1)
    k = bufs.k
    # the local derivatives, first over the whole row block, then g's: the block is in cache
    torch.addcmul(s, s, s, value=-1, out=d)  # sigma' = s (1 - s) = s - s^2 for i, f, o
    torch.addcmul(bufs.one, g, g, value=-1, out=dg)  # g = tanh(.): tanh' = 1 - g^2
    torch.addcmul(bufs.one, tc, tc, value=-1, out=k).mul_(o)  # h = o tanh(c): dh/dc = o (1 - tanh(c)^2)
    if mt is not None:
        k.mul_(mt[1])  # a padded step's dh does not reach c
    dc.addcmul_(dh, k)  # dL/dc_t += dL/dh_t * o tanh'(c)
    do.mul_(tc).mul_(dh)  # h = o tanh(c): dL/da_o = dh tanh(c) sigma'
    di.mul_(g)  # c = f c_prev + i g: dc/di = g
    df.mul_(c_prev)  # dc/df = c_prev
    dg.mul_(i)  # dc/dg = i
    d[:, : 3 * H].view(-1, 3, H).mul_(dc.unsqueeze(1))  # times dL/dc for i, f, g in one op
    if mt is None:
        dc.mul_(f)  # dL/dc_{t-1} = dL/dc_t * f
    else:
        d.mul_(mt[1])  # a padded step has no gate gradient ...
        dc.mul_(torch.where(mt[0], f, 1.0))  # ... and passes dL/dc straight through
    # h_{t-1} enters a_t through W_hh: dL/dh_{t-1} = d @ W_hh, plus out_{t-1} = h_{t-1}'s own gradient
    if dout_prev is None:
        torch.mm(d, w_hh, out=out)
    else:
        torch.addmm(dout_prev, d, w_hh, out=out)
    if mt is not None:
        out.addcmul_(dh, 1 - mt[1])  # a padded step passes dL/dh straight through
    return out


class GRUFunction(torch.autograd.Function):
    """GRU layer, one direction: (x, h0, W_ih, W_hh, b_ih, b_hh, mask) -> (out (T, B, H), h_T)."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, mask):
        T, B, _ = x.shape
        H = h0.shape[-1]
        gates = input_projection(x, w_ih, b_ih)  # (T, B, 3H): W_ih x + b_ih, overwritten with r, z, n
        hn = x.new_empty(T, B, H)  # W_hn h_{t-1} + b_hn, what the reset gate scales
        hs = x.new_empty(T + 1, B, H)
        out = None if mask is None else x.new_empty(T, B, H)  # with padding, outputs differ from states
        hs[0] = h0
        w_hh_t = w_hh.t()
        h_new = x.new_empty(B, H)
        for t in range(T):
            hw = torch.mm(hs[t], w_hh_t) if b_hh is None else torch.addmm(b_hh, hs[t], w_hh_t)  # (B, 3H)
            a = gates[t]
            a[:, : 2 * H].add_(hw[:, : 2 * H]).sigmoid_()  # r, z
            r, z, n = a.chunk(3, dim=1)
            hn[t] = hw[:, 2 * H :]
            tanh_(n.addcmul_(r, hn[t]))  # n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
            torch.sub(hs[t], n, out=h_new).mul_(z).add_(n)  # h = (1 - z) n + z h_prev = n + z (h_prev - n)
            m = None if mask is None else mask[t]
            keep_padded(h_new, hs[t], m, hs[t + 1])
            if mask is not None:
                torch.mul(h_new, m, out=out[t])
        ctx.save_for_backward(x, w_ih, w_hh, gates, hn, hs, mask)
        ctx.has_bias = b_ih is not None
        out = hs[1:].clone() if out is None else out
        return out, hs[T].clone()

    @staticmethod
    def backward(ctx, dout, dh_T):
        refuse_double_backward("GRU")
        x, w_ih, w_hh, gates, hn, hs, mask = ctx.saved_tensors
        T = x.shape[0]
        dx_pre = torch.empty_like(gates)  # dL/d(W_ih x + b_ih) for r, z, n
        dh_pre = torch.empty_like(gates)  # dL/d(W_hh h + b_hh) for r, z, n
        dh = dh_T.clone()
        for t in reversed(range(T)):
            r, z, n = gates[t].chunk(3, dim=1)
            dxr, dxz, dxn = dx_pre[t].chunk(3, dim=1)
            dhr, dhz, dhn = dh_pre[t].chunk(3, dim=1)
            dh_new = dh + dout[t]
            if mask is not None:
                m = mask[t].to(x.dtype)
                dh_new.mul_(m)
            h_prev = hs[t]
            torch.mul(dh_new, 1 - z, out=dxn).mul_(1 - n * n)  # h = (1-z) n + z h_prev; tanh' = 1 - n^2
            torch.mul(dxn, r, out=dhn)  # n's pre-activation has r * (W_hn h + b_hn)
            torch.mul(dxn, hn[t], out=dxr).mul_(r * (1 - r))  # d/dr = W_hn h + b_hn, sigma' = r(1-r)
            torch.mul(dh_new, h_prev - n, out=dxz).mul_(z * (1 - z))  # d/dz = h_prev - n
            dhr.copy_(dxr)
            dhz.copy_(dxz)
            dh_prev = torch.addmm(dh_new * z, dh_pre[t], w_hh)  # direct path z * dh plus dh_pre @ W_hh
            if mask is not None:
                dh_prev.addcmul_(dh, 1 - m)
            dh = dh_prev
        dx = input_grad(dx_pre, w_ih) if ctx.needs_input_grad[0] else None
        dw_ih = weight_grads(dx_pre, x)
        dw_hh = weight_grads(dh_pre, hs[:-1])
        has_bias = ctx.has_bias
        db_ih = dx_pre.sum(dim=(0, 1)) if has_bias else None
        db_hh = dh_pre.sum(dim=(0, 1)) if has_bias else None
        return dx, dh, dw_ih, dw_hh, db_ih, db_hh, None


class RNNFunction(torch.autograd.Function):
    """Elman RNN layer, one direction: (x, h0, W_ih, W_hh, b_ih, b_hh, mask, nonlinearity) -> (out (T, B, H),
    h_T); nonlinearity is "tanh" or "relu"."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, mask, nonlinearity):
        relu = nonlinearity == "relu"
        T, B, _ = x.shape
        H = h0.shape[-1]
        pre = input_projection(x, w_ih, None if b_ih is None else b_ih + b_hh)  # (T, B, H)
        hs = x.new_empty(T + 1, B, H)
        out = None if mask is None else x.new_empty(T, B, H)  # with padding, outputs differ from states
        hs[0] = h0
        w_hh_t = w_hh.t()
        for t in range(T):
            a = pre[t].addmm_(hs[t], w_hh_t)
            h_new = a.relu_() if relu else tanh_(a)  # pre[t] now holds the new h, kept for backward
            m = None if mask is None else mask[t]
            keep_padded(h_new, hs[t], m, hs[t + 1])
            if mask is not None:
                torch.mul(h_new, m, out=out[t])
        ctx.save_for_backward(x, w_ih, w_hh, pre, hs, mask)
        ctx.has_bias, ctx.relu = b_ih is not None, relu
        out = hs[1:].clone() if out is None else out
        return out, hs[T].clone()

    @staticmethod
    def backward(ctx, dout, dh_T):
        refuse_double_backward("RNN")
        x, w_ih, w_hh, acts, hs, mask = ctx.saved_tensors
        T = x.shape[0]
        dpre = torch.empty_like(acts)
        dh = dh_T.clone()
        for t in reversed(range(T)):
            h_new = acts[t]
            dh_new = dh + dout[t]
            if mask is not None:
                m = mask[t].to(x.dtype)
                dh_new.mul_(m)
            if ctx.relu:
                torch.mul(dh_new, h_new > 0, out=dpre[t])  # relu' = 1 where h > 0
            else:
                torch.mul(dh_new, 1 - h_new * h_new, out=dpre[t])  # tanh' = 1 - h^2
            dh_prev = torch.mm(dpre[t], w_hh)
            if mask is not None:
                dh_prev.addcmul_(dh, 1 - m)
            dh = dh_prev
        dx = input_grad(dpre, w_ih) if ctx.needs_input_grad[0] else None
        dw_ih = weight_grads(dpre, x)
        dw_hh = weight_grads(dpre, hs[:-1])
        db = dpre.sum(dim=(0, 1)) if ctx.has_bias else None
        return dx, dh, dw_ih, dw_hh, db, db, None, None


def run_layer(
    function: type[torch.autograd.Function],
    options: tuple,
    x: Tensor,
    state: tuple[Tensor, ...],
    weights,
    mask: Tensor | None,
    reverse: bool,
) -> tuple[Tensor, tuple[Tensor, ...]]:
    """One layer and direction: function.apply(x (T, B, D), *state, *weights, mask, *options) -> out (T, B, H),
    final state; the registry in ``cells.py`` says which Function and options a cell uses."""
    if reverse:  # the reverse direction is the forward one on time-flipped input
        x = x.flip(0)
        mask = None if mask is None else mask.flip(0)
    out, *final = function.apply(x.contiguous(), *state, *weights, mask, *options)
    return (out.flip(0) if reverse else out), tuple(final)

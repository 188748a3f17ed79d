"""The fast path (``fast=True``): the equations of ``cells.py`` with a hand-written backward through time.

Three things make it fast, each mirroring the NumPy reference's forward/backward pair:

1. One matmul per step, of the row [x_t, h_{t-1}] with [W_ih, W_hh]^T (the GRU's with its block weights,
   ``gru_block_weights``), and one for [dx_t, dh_{t-1}] in the backward. At the book's small inputs (D = 2 to
   16) a separate projection of all x at once is a K = 2 GEMM (and dx an N = 2 one) that costs more than
   the steps' own matmuls; the row stays in cache.
2. Every gate is fused into one (B, G*H) block, updated in place (sigmoid_, tanh_, addcmul_) in preallocated
   buffers, so each step launches a handful of kernels and allocates almost nothing.
3. A ``torch.autograd.Function`` per cell runs BPTT by hand: autograd records ONE node per layer and direction
   instead of ~15 per step, and the weight gradients are again big matmuls (the LSTM's per chunk of steps,
   while the chunk's gate gradients are in cache; on a machine with slow memory that matters more than FLOPs).

The Functions take time-major x (T, B, D), initial states (B, H), the weights, and an optional bool mask
(T, B, 1) (False on padded steps, which keep the state and output zeros). A reverse direction flips time
before and after. Double backward (create_graph=True) raises. Results equal the plain path to rounding
(the tests check float64 to 1e-9).
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


def tanh_from_sigmoid_of_double(sigmoid_of_double: Tensor, minus_ones: Tensor, out: Tensor) -> Tensor:
    """tanh(a) = 2 sigma(2a) - 1 written into ``out`` in one op, as -1 + 2 sigma(2a) (minus_ones: a block of
    -1 the shape of out).

    The LSTM forward applies sigma to its whole (B, 4H) gate block at once; the g rows of its weights and
    bias are doubled beforehand (``gate_scale``), so that block holds sigma(2 a_g) for g, and this finishes
    tanh(a_g) without a second pass over the other gates. Two ops (2 s - 1 in place) cost twice as much: a
    small block's cost is the op's overhead.
    """
    return torch.add(minus_ones, sigmoid_of_double, alpha=2, out=out)


def step_views(block: Tensor, parts: int) -> list[tuple[Tensor, ...]]:
    """block (n, B, parts*H) -> for each of its n steps, the ``parts`` (B, H) views of that step's gate block.

    Made once outside the time loop: a view costs a dispatcher call, and the loop would otherwise make
    several per step.
    """
    return list(zip(*(part.unbind(0) for part in block.chunk(parts, dim=-1)), strict=True))


def gate_scale(w: Tensor, H: int) -> Tensor:
    """w (4H, ...) with the g rows doubled, for ``tanh_from_sigmoid_of_double``. Doubling is exact in
    floating point, so results are unchanged."""
    w = w.clone()
    w[2 * H : 3 * H] *= 2
    return w


# ---- LSTM ------------------------------------------------------------------------------------------------

CHUNK_ELEMENTS = 1 << 20  # gate elements per chunk of steps (4 MiB in float32): stays in the L2/L3 caches


def chunk_steps(T: int, B: int, H: int) -> int:
    """How many steps of (B, 4H) gates make one cache-sized chunk (at least 1, at most T)."""
    return max(1, min(T, CHUNK_ELEMENTS // (B * 4 * H)))


class StepBuffers(NamedTuple):
    """Scratch (B, H) tensors that every backward step reuses."""

    ones: Tensor  # all ones
    dh_to_dc: Tensor  # o * tanh'(c) = dh/dc, then times the step mask


class StepMask(NamedTuple):
    """One step's padding mask, in the two forms the backward needs."""

    real: Tensor  # (B, 1) bool: True on a real step
    weight: Tensor  # (B, 1) float: 1 on a real step, 0 on padding


def _lstm_step_backward_inplace(
    dgates: Tensor,
    difgo: tuple[Tensor, ...],
    gates: Tensor,
    ifgo: tuple[Tensor, ...],
    *,
    tanh_c: Tensor,
    c_prev: Tensor,
    dh: Tensor,
    dc: Tensor,
    buffers: StepBuffers,
    step_mask: StepMask | None,
) -> None:
    """One LSTM step backward, the reference's ``lstm_step_backward`` written into preallocated buffers.

    Fills dgates (B, 4H) with dL/da for the pre-activations of i, f, g, o, and turns dc (B, H) into
    dL/dc_{t-1} in place; the caller gets dL/dx_t and dL/dh_{t-1} from dgates with one matmul.

    gates (B, 4H): the activated i, f, g, o of this step, ifgo its four (B, H) views, difgo those of dgates;
    tanh_c (B, H): tanh(c_t); c_prev (B, H): c_{t-1}; dh (B, H): dL/dh_t; dc (B, H): dL/dc_t from later
    steps; step_mask: None without padding.
    """
    i, f, g, o = ifgo  # each (B, H)
    di, df, dg, do = difgo  # views: filling them fills dgates
    dh_to_dc = buffers.dh_to_dc
    # first the local derivatives, over the whole (B, 4H) block while it is in cache, then g's block:
    # i = sigma(a_i), f = sigma(a_f), o = sigma(a_o): sigma' = sigma (1 - sigma) = sigma - sigma^2
    torch.addcmul(gates, gates, gates, value=-1, out=dgates)
    torch.addcmul(buffers.ones, g, g, value=-1, out=dg)  # g = tanh(a_g): tanh' = 1 - g^2
    torch.addcmul(buffers.ones, tanh_c, tanh_c, value=-1, out=dh_to_dc).mul_(o)  # h = o * tanh(c)
    if step_mask is not None:
        dh_to_dc.mul_(step_mask.weight)  # a padded step's dh does not reach c
    dc.addcmul_(dh, dh_to_dc)  # dc += dh * o * (1 - tanh_c^2), by h = o * tanh(c)
    do.mul_(tanh_c).mul_(dh)  # do = dh * tanh_c * sigma'(a_o), by h = o * tanh(c)
    # (one broadcast op over the (B, 3, H) view of di, df, dg for dc costs more than these three: measured
    # 18 us against 3 x 3 us at B = H = 32)
    di.mul_(g).mul_(dc)  # di = dc * g * sigma'(a_i), by c = f * c_prev + i * g
    df.mul_(c_prev).mul_(dc)  # df = dc * c_prev * sigma'(a_f), by c = f * c_prev + i * g
    dg.mul_(i).mul_(dc)  # dg = dc * i * tanh'(a_g), by c = f * c_prev + i * g
    if step_mask is None:
        dc.mul_(f)  # dc_prev = dc * f, by c = f * c_prev + i * g
    else:
        dgates.mul_(step_mask.weight)  # a padded step has no gate gradient ...
        dc.mul_(torch.where(step_mask.real, f, 1.0))  # ... and passes dL/dc straight through


class LSTMFunction(torch.autograd.Function):
    """LSTM layer, one direction: (x, h0, c0, W_ih, W_hh, b_ih, b_hh, mask) -> (out (T, B, H), h_T, c_T).

    The equations of ``cells.lstm_step``, with the g rows of the weights doubled (``gate_scale``) so one
    sigmoid over the (B, 4H) block gives every gate. Each step is ONE matmul over the row [x_t, h_{t-1}]
    against [W_ih, W_hh] (forward) and one for [dx_t, dh_{t-1}] (backward): at the book's small shapes
    (D = 2) a separate projection of all x at once costs more than the step's own matmul (its K = 2 or
    N = 2 GEMM runs far below the machine's speed), and the rows stay in cache.
    """

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, mask):
        T, B, D = x.shape
        H = h0.shape[-1]
        bias = None if b_ih is None else gate_scale(b_ih + b_hh, H)  # (4H,), g doubled
        w_scaled_t = gate_scale(torch.cat([w_ih, w_hh], dim=1), H).t()  # (D + H, 4H), g doubled
        # the gates i f g o (first their pre-activations, g doubled) in cache-sized chunks of steps: the
        # allocator reuses such blocks, while one (T, B, 4H) block would be fresh memory (page faults) on
        # every call, and the backward's weight gradients read each chunk while it is in cache
        chunk_len = chunk_steps(T, B, H)
        gate_chunks = [x.new_empty(min(chunk_len, T - start), B, 4 * H) for start in range(0, T, chunk_len)]
        # row t of xh is [x_t, h_{t-1}]: a_t = [x_t, h_{t-1}] [W_ih, W_hh]^T + b, one matmul per step
        xh = x.new_empty(T + 1, B, D + H)
        xh[:T, :, :D] = x
        xh[T, :, :D] = 0
        hs = xh[:, :, D:]  # (T + 1, B, H): hs[t] = h_{t-1}, the state entering step t
        cs = x.new_empty(T + 1, B, H)  # cs[t] = c_{t-1}
        tanh_c = x.new_empty(T, B, H)  # tanh(c_t) of the new cell state, before any padding blend
        hs[0], cs[0] = h0, c0
        # without padding the new states go straight into hs, cs; with it, into buffers blended below
        h_new, c_new = (hs[1:], cs[1:]) if mask is None else (x.new_empty(T, B, H), x.new_empty(T, B, H))
        minus_ones = x.new_full((B, H), -1.0)
        # every per-step view made once here, not in the loop (each view is a dispatcher call)
        gates_steps = [gates for chunk in gate_chunks for gates in chunk.unbind(0)]  # T of (B, 4H)
        ifgo_steps = [ifgo for chunk in gate_chunks for ifgo in step_views(chunk, 4)]  # T of 4 (B, H)
        xh_steps, h_steps, c_steps = xh.unbind(0), hs.unbind(0), cs.unbind(0)
        h_new_steps, c_new_steps, tanh_c_steps = h_new.unbind(0), c_new.unbind(0), tanh_c.unbind(0)
        for t in range(T):
            gates = gates_steps[t]  # (B, 4H)
            if bias is None:
                torch.mm(xh_steps[t], w_scaled_t, out=gates)  # a = W_ih x_t + W_hh h_{t-1}
            else:
                torch.addmm(bias, xh_steps[t], w_scaled_t, out=gates)  # a = W_ih x_t + W_hh h_{t-1} + b
            gates.sigmoid_()  # i, f, o = sigma(a); sigma(2 a_g) in g's block
            i, f, g, o = ifgo_steps[t]  # each (B, H)
            tanh_from_sigmoid_of_double(g, minus_ones, out=g)  # g = tanh(a_g)
            c = torch.mul(f, c_steps[t], out=c_new_steps[t]).addcmul_(i, g)  # c = f * c_prev + i * g
            tanh_c_t = tanh_c_steps[t]
            tanh_from_sigmoid_of_double(torch.mul(c, 2, out=tanh_c_t).sigmoid_(), minus_ones, out=tanh_c_t)
            torch.mul(o, tanh_c_t, out=h_new_steps[t])  # h = o * tanh(c)
            if mask is not None:  # a padded step keeps the old state
                torch.where(mask[t], c, c_steps[t], out=c_steps[t + 1])
                torch.where(mask[t], h_new_steps[t], h_steps[t], out=h_steps[t + 1])
        ctx.save_for_backward(xh, w_ih, w_hh, cs, tanh_c, mask, *gate_chunks)
        ctx.has_bias = b_ih is not None
        # the outputs are fresh contiguous tensors (the caller may edit them in place); padding outputs zeros
        contiguous = torch.contiguous_format
        out = hs[1:].clone(memory_format=contiguous) if mask is None else h_new.mul_(mask)
        return out, hs[T].clone(memory_format=contiguous), cs[T].clone()

    @staticmethod
    def backward(ctx, dout, dh_T, dc_T):
        refuse_double_backward("LSTM")
        xh, w_ih, w_hh, cs, tanh_c, mask, *gate_chunks = ctx.saved_tensors
        T, B, H = tanh_c.shape
        D = xh.shape[-1] - H
        mask_weight = None if mask is None else mask.to(xh.dtype)  # (T, B, 1): 1 on real steps, 0 on padding
        if mask_weight is not None:
            dout = dout * mask_weight  # a padded step outputs zeros: no gradient enters the layer there
            pass_weight = 1 - mask_weight  # 1 where a padded step passes dL/dh straight through
        w = torch.cat([w_ih, w_hh], dim=1)  # (4H, D + H)
        # row t of dxh is [dx_t, dL/dh_{t-1}]: [dx_t, dh_{t-1}] = da_t [W_ih, W_hh], by a = [x_t, h_{t-1}] W^T
        # + b, one matmul per step added onto dL/dout_{t-1} (out_{t-1} = h_{t-1}), filled in beforehand
        dxh = xh.new_zeros(T, B, D + H)
        dxh[1:, :, D:] = dout[: T - 1]
        dxh_steps, dh_prev_steps = dxh.unbind(0), dxh[:, :, D:].unbind(0)
        # BPTT runs over the forward's chunks of steps; each chunk's gate gradients feed the weight-gradient
        # matmuls while they are still in cache, and one (chunk_len, B, 4H) buffer is reused for all
        chunk_len = chunk_steps(T, B, H)
        dgates_buffer = xh.new_empty(chunk_len, B, 4 * H)  # dL/da of i, f, g, o
        dgates_steps, difgo_steps = dgates_buffer.unbind(0), step_views(dgates_buffer, 4)
        buffers = StepBuffers(ones=xh.new_ones(B, H), dh_to_dc=xh.new_empty(B, H))
        dw_ih_hh = xh.new_zeros(4 * H, D + H)  # [dW_ih, dW_hh], side by side as xh's rows are
        db = xh.new_zeros(4 * H) if ctx.has_bias else None
        dh = dh_T + dout[T - 1]  # dL/dh_t: from step t+1 and from the output out_t
        dc = dc_T.clone()  # dL/dc_t
        c_steps, tanh_c_steps = cs.unbind(0), tanh_c.unbind(0)
        for start in reversed(range(0, T, chunk_len)):  # the chunk of steps start <= t < stop, last first
            stop = min(start + chunk_len, T)
            gates_chunk = gate_chunks[start // chunk_len]
            gates_steps, ifgo_steps = gates_chunk.unbind(0), step_views(gates_chunk, 4)
            for t in reversed(range(start, stop)):
                step = t - start
                _lstm_step_backward_inplace(
                    dgates_steps[step],
                    difgo_steps[step],
                    gates_steps[step],
                    ifgo_steps[step],
                    tanh_c=tanh_c_steps[t],
                    c_prev=c_steps[t],
                    dh=dh,
                    dc=dc,
                    buffers=buffers,
                    step_mask=None if mask is None else StepMask(mask[t], mask_weight[t]),
                )
                # [dx_t, dh_{t-1}] += da_t [W_ih, W_hh]: dh_{t-1} already holds dL/dout_{t-1}
                dxh_steps[t].addmm_(dgates_steps[step], w)
                dh_prev = dh_prev_steps[t]
                if mask is not None:
                    dh_prev.addcmul_(dh, pass_weight[t])  # a padded step passes dL/dh straight through
                dh = dh_prev
            dgate_rows = dgates_buffer[: stop - start].view(-1, 4 * H)  # ((stop - start) B, 4H)
            # [dW_ih, dW_hh] += sum_t da_t^T [x_t, h_{t-1}], by a = x W_ih^T + h_prev W_hh^T + ...
            dw_ih_hh.addmm_(dgate_rows.t(), xh[start:stop].view(-1, D + H))
            if db is not None:
                db.add_(dgate_rows.sum(dim=0))  # db = sum_t sum_b da_t, by a = ... + b_ih + b_hh
        dx = dxh[:, :, :D].contiguous() if ctx.needs_input_grad[0] else None
        dw_ih, dw_hh = dw_ih_hh[:, :D].contiguous(), dw_ih_hh[:, D:].contiguous()
        return dx, dh.contiguous(), dc, dw_ih, dw_hh, db, db, None


def gru_block_weights(w_ih: Tensor, w_hh: Tensor) -> Tensor:
    """The GRU's weights as one (4H, D + H) matrix over the row [x_t, h_{t-1}]: its four row blocks give
    a_r, a_z, W_in x_t and W_hn h_{t-1} (the reset gate scales the last one alone, so n's two halves stay
    apart):

        [[W_ir, W_hr],
         [W_iz, W_hz],
         [W_in,    0],
         [   0, W_hn]]
    """
    H, D = w_hh.shape[-1], w_ih.shape[-1]
    w = w_ih.new_zeros(4 * H, D + H)
    w[: 3 * H, :D] = w_ih
    w[: 2 * H, D:] = w_hh[: 2 * H]
    w[3 * H :, D:] = w_hh[2 * H :]
    return w


class GRUFunction(torch.autograd.Function):
    """GRU layer, one direction: (x, h0, W_ih, W_hh, b_ih, b_hh, mask) -> (out (T, B, H), h_T).

    Each step is one matmul of the row [x_t, h_{t-1}] with ``gru_block_weights`` (forward) and one for
    [dx_t, dh_{t-1}] (backward), into preallocated per-sequence buffers.
    """

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, mask):
        T, B, D = x.shape
        H = h0.shape[-1]
        w_t = gru_block_weights(w_ih, w_hh).t()  # (D + H, 4H)
        bias = None  # (4H,): b_ir + b_hr, b_iz + b_hz, b_in, b_hn
        if b_ih is not None:
            bias = torch.cat([b_ih[: 2 * H] + b_hh[: 2 * H], b_ih[2 * H :], b_hh[2 * H :]])
        # row t of xh is [x_t, h_{t-1}]
        xh = x.new_empty(T + 1, B, D + H)
        xh[:T, :, :D] = x
        xh[T, :, :D] = 0
        hs = xh[:, :, D:]  # (T + 1, B, H): hs[t] = h_{t-1}
        hs[0] = h0
        # per step [a_r, a_z, W_in x + b_in, W_hn h + b_hn], overwritten with r, z, n, W_hn h + b_hn
        gates = x.new_empty(T, B, 4 * H)
        h_new = hs[1:] if mask is None else x.new_empty(T, B, H)  # with padding, blended into hs below
        xh_steps, h_steps, h_new_steps = xh.unbind(0), hs.unbind(0), h_new.unbind(0)
        gates_steps, rz_steps = gates.unbind(0), gates[:, :, : 2 * H].unbind(0)
        parts_steps = step_views(gates, 4)
        for t in range(T):
            if bias is None:
                torch.mm(xh_steps[t], w_t, out=gates_steps[t])
            else:
                torch.addmm(bias, xh_steps[t], w_t, out=gates_steps[t])
            rz_steps[t].sigmoid_()  # r, z = sigma(W_i x + b_i + W_h h + b_h)
            r, z, n, hn = parts_steps[t]  # each (B, H)
            torch.tanh(n.addcmul_(r, hn), out=n)  # n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
            torch.lerp(n, h_steps[t], z, out=h_new_steps[t])  # h = (1 - z) n + z h_prev
            if mask is not None:  # a padded step keeps the old state
                torch.where(mask[t], h_new_steps[t], h_steps[t], out=h_steps[t + 1])
        ctx.save_for_backward(xh, w_ih, w_hh, gates, mask)
        ctx.has_bias = b_ih is not None
        contiguous = torch.contiguous_format
        out = hs[1:].clone(memory_format=contiguous) if mask is None else h_new.mul_(mask)  # padding: zeros
        return out, hs[T].clone(memory_format=contiguous)

    @staticmethod
    def backward(ctx, dout, dh_T):
        refuse_double_backward("GRU")
        xh, w_ih, w_hh, gates, mask = ctx.saved_tensors
        T, B, H = gates.shape[0], gates.shape[1], gates.shape[2] // 4
        D = xh.shape[-1] - H
        mask_weight = None if mask is None else mask.to(xh.dtype)  # (T, B, 1): 1 on real steps, 0 on padding
        if mask_weight is not None:
            dout = dout * mask_weight  # a padded step outputs zeros: no gradient enters the layer there
            pass_weight = 1 - mask_weight  # 1 where a padded step passes dL/dh straight through
        w = gru_block_weights(w_ih, w_hh)  # (4H, D + H)
        # row t of dxh is [dx_t, dL/dh_{t-1}], filled with dL/dout_{t-1} (out_{t-1} = h_{t-1}) beforehand
        dxh = xh.new_zeros(T, B, D + H)
        dxh[1:, :, D:] = dout[: T - 1]
        dgates = xh.new_empty(T, B, 4 * H)  # dL/d of [a_r, a_z, W_in x + b_in, W_hn h + b_hn]
        dxh_steps, dh_prev_steps = dxh.unbind(0), dxh[:, :, D:].unbind(0)
        dgates_steps, rz_steps = dgates.unbind(0), gates[:, :, : 2 * H].unbind(0)
        drz_steps = dgates[:, :, : 2 * H].unbind(0)
        parts_steps, dparts_steps, h_steps = (
            step_views(gates, 4),
            step_views(dgates, 4),
            xh[:, :, D:].unbind(0),
        )
        ones, dn, h_minus_n = xh.new_ones(B, H), xh.new_empty(B, H), xh.new_empty(B, H)
        dh_real = xh.new_empty(B, H)  # dL/dh_t, zero on a padded step
        dh = dh_T + dout[T - 1]  # dL/dh_t: from step t+1 and from the output out_t
        for t in reversed(range(T)):
            r, z, n, hn = parts_steps[t]
            dr, dz, dn_x, dn_h = dparts_steps[t]  # views: filling them fills dgates[t]
            dh_prev = dh_prev_steps[t]
            dh_step = dh if mask is None else torch.mul(dh, mask_weight[t], out=dh_real)
            dh_prev.addcmul_(dh_step, z)  # dh_prev += dh * z, by h = (1 - z) n + z h_prev
            torch.addcmul(dh_step, dh_step, z, value=-1, out=dn)  # dn = dh (1 - z), by h = (1 - z) n + ...
            # W_in x + b_in enters n's tanh directly: dn_pre = dn (1 - n^2), by n = tanh(...)
            torch.addcmul(ones, n, n, value=-1, out=dn_x).mul_(dn)
            # W_hn h + b_hn enters scaled: by n = tanh(... + r * (W_hn h + b_hn))
            torch.mul(dn_x, r, out=dn_h)
            # sigma' = s - s^2, for r and z at once
            torch.addcmul(rz_steps[t], rz_steps[t], rz_steps[t], value=-1, out=drz_steps[t])
            dr.mul_(hn).mul_(dn_x)  # dr_pre = dn_pre (W_hn h + b_hn) sigma'(a_r)
            # dz_pre = dh (h_prev - n) sigma'(a_z)
            dz.mul_(torch.sub(h_steps[t], n, out=h_minus_n)).mul_(dh_step)
            # [dx_t, dh_{t-1}] += dgates_t W, by [a_r, a_z, W_in x, W_hn h] = [x_t, h_{t-1}] W^T
            dxh_steps[t].addmm_(dgates_steps[t], w)
            if mask is not None:
                dh_prev.addcmul_(dh, pass_weight[t])  # a padded step passes dL/dh straight through
            dh = dh_prev
        # (4H, D + H): sum_t dg^T xh
        dw = torch.mm(dgates.view(T * B, 4 * H).t(), xh[:T].reshape(T * B, D + H))
        dw_ih = dw[: 3 * H, :D].contiguous()  # the x columns of r, z and W_in x
        dw_hh = torch.cat([dw[: 2 * H, D:], dw[3 * H :, D:]])  # the h columns of r, z and W_hn h
        db_ih = db_hh = None
        if ctx.has_bias:
            db = dgates.sum(dim=(0, 1))  # (4H,)
            db_ih, db_hh = db[: 3 * H], torch.cat([db[: 2 * H], db[3 * H :]])
        dx = dxh[:, :, :D].contiguous() if ctx.needs_input_grad[0] else None
        return dx, dh.contiguous(), dw_ih, dw_hh, db_ih, db_hh, None


class RNNFunction(torch.autograd.Function):
    """Elman RNN layer, one direction: (x, h0, W_ih, W_hh, b_ih, b_hh, mask, nonlinearity) -> (out (T, B, H),
    h_T); nonlinearity is "tanh" or "relu". Each step is one matmul of the row [x_t, h_{t-1}] with
    [W_ih, W_hh]^T (forward) and one for [dx_t, dh_{t-1}] (backward), into preallocated buffers."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, mask, nonlinearity):
        relu = nonlinearity == "relu"
        T, B, D = x.shape
        H = h0.shape[-1]
        w_t = torch.cat([w_ih, w_hh], dim=1).t()  # (D + H, H)
        bias = None if b_ih is None else b_ih + b_hh  # (H,)
        # row t of xh is [x_t, h_{t-1}]
        xh = x.new_empty(T + 1, B, D + H)
        xh[:T, :, :D] = x
        xh[T, :, :D] = 0
        hs = xh[:, :, D:]  # (T + 1, B, H): hs[t] = h_{t-1}
        hs[0] = h0
        # the new h of every step, before any padding blend: kept for the backward's act'
        acts = x.new_empty(T, B, H)
        xh_steps, h_steps, act_steps = xh.unbind(0), hs.unbind(0), acts.unbind(0)
        for t in range(T):
            if bias is None:
                torch.mm(xh_steps[t], w_t, out=act_steps[t])  # W_ih x_t + W_hh h_{t-1}
            else:
                torch.addmm(bias, xh_steps[t], w_t, out=act_steps[t])  # W_ih x_t + W_hh h_{t-1} + b
            h_new = act_steps[t].relu_() if relu else act_steps[t].tanh_()  # h = act(...)
            if mask is None:
                h_steps[t + 1].copy_(h_new)
            else:  # a padded step keeps the old state
                torch.where(mask[t], h_new, h_steps[t], out=h_steps[t + 1])
        ctx.save_for_backward(xh, w_ih, w_hh, acts, mask)
        ctx.has_bias, ctx.relu = b_ih is not None, relu
        contiguous = torch.contiguous_format
        out = acts.clone() if mask is None else acts * mask  # padding outputs zeros
        return out, hs[T].clone(memory_format=contiguous)

    @staticmethod
    def backward(ctx, dout, dh_T):
        refuse_double_backward("RNN")
        xh, w_ih, w_hh, acts, mask = ctx.saved_tensors
        T, B, H = acts.shape
        D = xh.shape[-1] - H
        mask_weight = None if mask is None else mask.to(xh.dtype)  # (T, B, 1): 1 on real steps, 0 on padding
        if mask_weight is not None:
            dout = dout * mask_weight  # a padded step outputs zeros: no gradient enters the layer there
            pass_weight = 1 - mask_weight  # 1 where a padded step passes dL/dh straight through
        w = torch.cat([w_ih, w_hh], dim=1)  # (H, D + H)
        # row t of dxh is [dx_t, dL/dh_{t-1}], filled with dL/dout_{t-1} (out_{t-1} = h_{t-1}) beforehand
        dxh = xh.new_zeros(T, B, D + H)
        dxh[1:, :, D:] = dout[: T - 1]
        dpre = torch.empty_like(acts)  # dL/d(W_ih x + W_hh h + b)
        # act' as a function of the output h: relu' = 1 where h > 0, tanh' = 1 - h^2
        derivative = (
            (acts > 0).to(acts.dtype)
            if ctx.relu
            else torch.addcmul(torch.ones_like(acts), acts, acts, value=-1)
        )
        dxh_steps, dh_prev_steps = dxh.unbind(0), dxh[:, :, D:].unbind(0)
        dpre_steps, derivative_steps = dpre.unbind(0), derivative.unbind(0)
        dh = dh_T + dout[T - 1]  # dL/dh_t: from step t+1 and from the output out_t
        for t in reversed(range(T)):
            torch.mul(dh, derivative_steps[t], out=dpre_steps[t])  # dpre = dh act'(pre), by h = act(pre)
            if mask is not None:
                dpre_steps[t].mul_(mask_weight[t])  # a padded step has no gradient of its own
            dh_prev = dh_prev_steps[t]
            # [dx_t, dh_{t-1}] += dpre W, by pre = [x_t, h_{t-1}] W^T + b
            dxh_steps[t].addmm_(dpre_steps[t], w)
            if mask is not None:
                dh_prev.addcmul_(dh, pass_weight[t])  # a padded step passes dL/dh straight through
            dh = dh_prev
        dw = torch.mm(dpre.view(T * B, H).t(), xh[:T].reshape(T * B, D + H))  # (H, D + H): sum_t dpre^T xh
        dw_ih, dw_hh = dw[:, :D].contiguous(), dw[:, D:].contiguous()
        db = dpre.sum(dim=(0, 1)) if ctx.has_bias else None
        dx = dxh[:, :, :D].contiguous() if ctx.needs_input_grad[0] else None
        return dx, dh.contiguous(), dw_ih, dw_hh, db, db, None, None


def run_layer(
    function: type[torch.autograd.Function],
    options: tuple,
    x: Tensor,
    state: tuple[Tensor, ...],
    weights,
    mask: Tensor | None,
    reverse: bool,
) -> tuple[Tensor, tuple[Tensor, ...]]:
    """One layer and direction: function.apply(x (T, B, D), *state, *weights, mask, *options)
    -> out (T, B, H), final state; the registry in ``cells.py`` says which Function and options to use."""
    if reverse:  # the reverse direction is the forward one on time-flipped input
        x = x.flip(0)
        mask = None if mask is None else mask.flip(0)
    out, *final = function.apply(x.contiguous(), *state, *weights, mask, *options)
    return (out.flip(0) if reverse else out), tuple(final)

# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Exercise 7: a bidirectional layer over a padded batch
#
# You run a recurrent step over a padded batch in one direction, forward or reverse, and then put two
# directions together into a bidirectional layer with torch's output layout. The sequences in a batch have
# different lengths: `lengths[b]` real steps, then zeros up to T. Each check compares your function with the
# course's reference run on each sequence alone, at its own length, and names the mistake when they differ.
#
# **How to work.** Replace each `raise NotImplementedError(...)` with your code and run the check below it.
# Leave the check cells as they are.
#
# Letters: T time steps, B batch, D input features, H hidden units. A **step** function takes
# `(x_t (B, D), h_prev (B, H), params)` and returns the new `h (B, H)`. Your functions receive it as their
# first argument and must work for any such step: the checks pass a tanh RNN step and a GRU step.

# %%
import numpy as np

from lstm_course.checks.bidirectional import check_bidirectional_forward, check_run_direction

# %% [markdown]
# ## A step to run (given, not graded)
#
# The tanh RNN step, $h_t = \tanh(x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh})$, with torch's
# parameter names. Try your functions on it; the checks bring their own steps.


# %%
def rnn_step(x_t: np.ndarray, h_prev: np.ndarray, params: dict) -> np.ndarray:
    """x_t (B, D), h_prev (B, H) -> h (B, H)."""
    a = x_t @ params["weight_ih"].T + params["bias_ih"] + h_prev @ params["weight_hh"].T + params["bias_hh"]
    return np.tanh(a)


# %% [markdown]
# ## 1. One direction over a padded batch
#
# Start from $h = 0$ for every sequence. **Forward** (`reverse=False`): read $x_0, x_1, \dots, x_{L_b - 1}$,
# where $L_b$ = `lengths[b]`. **Reverse** (`reverse=True`): read $x_{L_b - 1}, \dots, x_0$: each sequence's
# reverse pass starts at its *own* last real step, not at the padding.
#
# Return `out` (T, B, H) and `h_last` (B, H):
# - `out[t, b]` is the state computed when the direction read `x[t, b]`, in the original time order (so the
#   reverse outputs are put back where their input was), and zeros at padded steps `t >= lengths[b]`;
# - `h_last[b]` is the state after the last step that direction read: after $x_{L_b - 1}$ forward, after $x_0$
#   in reverse. Padding never changes it.
#
# One way: loop over the sequences, and for each run the step over its real steps only (a batch of one,
# `x[t, b:b+1]`), in the direction's order.


# %%
def run_direction(
    step, x: np.ndarray, lengths: np.ndarray, params: dict, reverse: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """x (T, B, D), lengths (B,) -> out (T, B, H) (zeros at padding), h_last (B, H)."""
    ### BEGIN SOLUTION
    T, B, _ = x.shape
    H = params["weight_hh"].shape[1]
    out, h_last = np.zeros((T, B, H)), np.zeros((B, H))
    for b in range(B):
        times = range(lengths[b])  # the real steps only: the padding is never read
        h = np.zeros((1, H))
        for t in reversed(times) if reverse else times:
            h = step(x[t, b : b + 1], h, params)
            out[t, b] = h[0]  # stored at the step it read, so the reverse outputs need no flip
        h_last[b] = h[0]
    return out, h_last
    ### END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
check_run_direction(run_direction)

# %% [markdown]
# ## 2. The bidirectional layer
#
# Run the forward direction with `params_fwd` and the reverse direction with `params_rev`, each with its own
# weights, and combine them as `torch.nn.RNN(..., bidirectional=True)` does:
# - `out` (T, B, 2H): `out[t] = [forward state at t, reverse state at t]`, concatenated along the last axis,
#   so `out[..., :H]` is the forward direction;
# - `h_n` (2, B, H): `h_n[0]` the forward direction's `h_last`, `h_n[1]` the reverse direction's.


# %%
def bidirectional_forward(
    step, x: np.ndarray, lengths: np.ndarray, params_fwd: dict, params_rev: dict
) -> tuple[np.ndarray, np.ndarray]:
    """x (T, B, D), lengths (B,) -> out (T, B, 2H), h_n (2, B, H)."""
    ### BEGIN SOLUTION
    out_fwd, h_fwd = run_direction(step, x, lengths, params_fwd, reverse=False)
    out_rev, h_rev = run_direction(step, x, lengths, params_rev, reverse=True)
    return np.concatenate([out_fwd, out_rev], axis=2), np.stack([h_fwd, h_rev])
    ### END SOLUTION


# %%
# NBVAL_CHECK_OUTPUT
check_bidirectional_forward(bidirectional_forward)

# %% [markdown]
# Both pass? `torch.nn.RNN(D, H, bidirectional=True)` on `pack_padded_sequence(x, lengths,
# enforce_sorted=False)` computes the same `out` and `h_n` (chapter 6 shows it, and what goes wrong without
# the lengths).

"""The mistake-variants the recurrent checks try, written once for every cell type in ``cellspec``.

A variant is a pair (feedback, compute): ``compute()`` returns what a student who made that mistake would get
on the check's inputs, and ``harness.expect_array`` tries the variants in order when a value is wrong. From a
cell's spec and its correct step functions (``CellSteps``) this module builds:

- in a step forward: every other reading of the gate blocks (``gate_order_variants``), a weight transposed,
  bias_hh or h_prev left out (``parameter_variants``);
- in a step backward: wrong tanh derivatives (1 - y instead of 1 - y**2 and its cousins), transposed weights
  or weight gradients, swapped gate gradients (``step_backward_variants``, on a cell's backward written with
  those knobs, which ``affine_backward`` finishes);
- over time: off by one, an initial state ignored, a state not carried (``sequence_forward_variants``);
- in BPTT: a state's gradient not carried back, grads not accumulated, a final state's gradient ignored,
  off by one in time, and the step backward's own mistakes made inside the loop (``bptt_variants``).

A new cell's check passes its ``CellSteps`` (from the reference), its backward with the knobs and its
``TanhSite`` entries; only the mistakes no other cell can make are written in its own module.

States and their gradients are tuples in the spec's order, e.g. (h, c) and (dh, dc) for the LSTM.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from lstm_course.cellspec import CellSpec

Variant = tuple[str, Callable[[], Any]]
Derivative = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (y, a) -> dy/da for y = tanh(a)

#: How feedback names a state: "the cell state is not carried", "the cell gradient ...".
STATE_WORDS = {"h": "hidden", "c": "cell"}


@dataclass(frozen=True)
class CellSteps:
    """A cell's correct step pair, in the form every cell's reference has.

    ``forward(x_t (B, D), *states_prev (B, H), params) -> (*states (B, H), cache)``,
    ``backward(*dstates (B, H), cache) -> (dx_t (B, D), *dstates_prev (B, H), grads)``.
    """

    spec: CellSpec
    forward: Callable[..., tuple]
    backward: Callable[..., tuple]

    @property
    def states(self) -> tuple[str, ...]:
        """The states a step carries, e.g. ("h", "c")."""
        return self.spec.states


# --- gates: blocks of G*H rows ------------------------------------------------------------------------------


def gate_permutations(num_gates: int) -> list[tuple[int, ...]]:
    """Every order of the gate blocks but the right one."""
    identity = tuple(range(num_gates))
    return [order for order in itertools.permutations(identity) if order != identity]


def stacked_in_order(blocks: np.ndarray, order: Sequence[int], axis: int = 0) -> np.ndarray:
    """``blocks`` (G*H along ``axis``) with block k replaced by block ``order[k]``."""
    parts = np.split(blocks, len(order), axis=axis)
    return np.concatenate([parts[k] for k in order], axis=axis)


def reordered_gates(params: dict, order: Sequence[int]) -> dict:
    """The parameters a student uses who reads gate k from row block ``order[k]``."""
    return {name: stacked_in_order(value, order) for name, value in params.items()}


def gate_order_text(
    names: Sequence[str], order: Sequence[int], what: str = "gates", result: str = "output"
) -> str:
    """The feedback for a result that matches the reference with the gate blocks read in ``order``."""
    swapped = [k for k in range(len(names)) if order[k] != k]
    if len(swapped) == 2:
        first, second = (names[k] for k in swapped)
        return (
            f"the {what} look swapped: your {result} matches the reference when {first} and {second} "
            "are exchanged"
        )
    # row block j is what the student reads as gate order.index(j)
    read = ", ".join(names[list(order).index(k)] for k in range(len(names)))
    right = ", ".join(names)
    return (
        f"the {what} are in the wrong order: your {result} matches rows read as ({read}) instead of ({right})"
    )


def row_layout(spec: CellSpec) -> str:
    """`` (torch's rows: [0:H] i, [H:2H] f, [2H:3H] g, [3H:4H] o)`` for the LSTM."""

    def multiple(k: int) -> str:
        return {0: "0", 1: "H"}.get(k, f"{k}H")

    def rows(k: int) -> str:
        return f"[{multiple(k)}:{multiple(k + 1)}]"

    return " (torch's rows: " + ", ".join(f"{rows(k)} {gate}" for k, gate in enumerate(spec.gates)) + ")"


def _step_output(cell: CellSteps, x: np.ndarray, states: tuple, params: dict, order: tuple, pick: int) -> Any:
    """Output ``pick`` of the right step forward run on the gate blocks read in ``order``."""
    return cell.forward(x, *states, reordered_gates(params, order))[pick]


def gate_order_variants(
    cell: CellSteps, x: np.ndarray, states: tuple, params: dict, pick: int
) -> list[Variant]:
    """Every wrong reading of the gate blocks, for the step forward's output ``pick`` (0 for h, 1 for c)."""
    layout = row_layout(cell.spec)
    return [
        (
            gate_order_text(cell.spec.gates, order) + layout,
            partial(_step_output, cell, x, states, params, order, pick),
        )
        for order in gate_permutations(cell.spec.num_gates)
    ]


def _transposed(params: dict, *names: str) -> dict:
    return {name: value.T if name in names else value for name, value in params.items()}


def _without(params: dict, name: str) -> dict:
    return {key: np.zeros_like(value) if key == name else value for key, value in params.items()}


def parameter_variants(
    cell: CellSteps, x: np.ndarray, states: tuple, params: dict, pick: int
) -> list[Variant]:
    """A weight transposed (it fits when D = H for a one-gate cell), bias_hh or h_prev left out."""
    rows = "H" if cell.spec.num_gates == 1 else f"{cell.spec.num_gates}H"
    no_h = (np.zeros_like(states[0]), *states[1:])

    def step(step_params: dict, step_states: tuple = states) -> Callable[[], Any]:
        return lambda: cell.forward(x, *step_states, step_params)[pick]

    return [
        (
            f"weight_ih is transposed: it is ({rows}, D), so the input term is x_t @ weight_ih.T",
            step(_transposed(params, "weight_ih")),
        ),
        (
            "weight_hh is transposed: the recurrent term is h_prev @ weight_hh.T",
            step(_transposed(params, "weight_hh")),
        ),
        (
            "both weights are transposed: use x_t @ weight_ih.T and h_prev @ weight_hh.T",
            step(_transposed(params, "weight_ih", "weight_hh")),
        ),
        (
            f"bias_hh is missing: torch's {cell.spec.name.upper()} adds both bias_ih and bias_hh",
            step(_without(params, "bias_hh")),
        ),
        ("h_prev is ignored: the recurrent term h_prev @ weight_hh.T is missing", step(params, no_h)),
    ]


# --- a step backward ----------------------------------------------------------------------------------------


def right_tanh_derivative(y: np.ndarray, a: np.ndarray) -> np.ndarray:
    """dy/da for y = tanh(a), in terms of the output: 1 - y**2."""
    return 1 - y**2


#: Wrong derivatives of y = tanh(a), each with its feedback (filled with a ``TanhSite``'s names).
TANH_DERIVATIVE_MISTAKES: tuple[tuple[str, Derivative], ...] = (
    (
        "wrong tanh derivative{where}: with {y} = tanh({a}), d{y}/d{a} = 1 - {y}**2 (you used 1 - {y})",
        lambda y, a: 1 - y,
    ),
    (
        "wrong tanh derivative{where}: 1 - {y}**2 is already in terms of the output {y}; you applied tanh "
        "to {y} again",
        lambda y, a: 1 - np.tanh(y) ** 2,
    ),
    (
        "wrong derivative{where}: {y} * (1 - {y}) is the sigmoid's; tanh's is 1 - {y}**2",
        lambda y, a: y * (1 - y),
    ),
    ("the tanh derivative{where} is missing: d{a} = d{y} * (1 - {y}**2)", lambda y, a: np.ones_like(y)),
    (
        "wrong tanh derivative{where}: it is 1 - tanh({a})**2 = 1 - {y}**2, not 1 - {a}**2",
        lambda y, a: 1 - a**2,
    ),
)


@dataclass(frozen=True)
class TanhSite:
    """A tanh a step backward differentiates, y = tanh(a), with the names the feedback uses."""

    y: str  # the output's name, also the key of the site in ``derivatives``: "h", "tanh_c", "g"
    a: str  # the input's name: "a", "c", "a_g"
    where: str = ""  # after "wrong tanh derivative": "" or " for the candidate"


def tanh_derivative_mistakes(site: TanhSite) -> list[tuple[str, Derivative]]:
    """(feedback, wrong derivative) for each known mistake at ``site``."""
    return [
        (template.format(where=site.where, y=site.y, a=site.a), derivative)
        for template, derivative in TANH_DERIVATIVE_MISTAKES
    ]


def affine_backward(
    da_ih: np.ndarray,
    da_hh: np.ndarray,
    x: np.ndarray,
    h_prev: np.ndarray,
    params: dict,
    *,
    order: Sequence[int] | None = None,
    transposed: bool = False,
    transposed_grads: bool = False,
) -> dict[str, Any]:
    """dx_t, dh_prev and grads through a = x_t W_ih^T + b_ih + h_prev W_hh^T + b_hh, maybe with a mistake.

    Args:
        da_ih, da_hh: (B, G*H) gradients of the input and recurrent pre-activations; the same for the RNN and
            LSTM, different where a gate scales the recurrent side (the GRU's candidate).
        order: the gate gradients stacked in this block order (a mistake unless the identity).
        transposed: the mistake of multiplying by the weights transposed.
        transposed_grads: the mistake of the weight gradients transposed, x_t^T da instead of da^T x_t.
    """
    if order is not None:
        da_ih, da_hh = stacked_in_order(da_ih, order, axis=1), stacked_in_order(da_hh, order, axis=1)
    weight_ih, weight_hh = params["weight_ih"], params["weight_hh"]
    if transposed:
        weight_ih, weight_hh = weight_ih.T, weight_hh.T
    grads = {
        "weight_ih": da_ih.T @ x,
        "weight_hh": da_hh.T @ h_prev,
        "bias_ih": da_ih.sum(0),
        "bias_hh": da_hh.sum(0),
    }
    if transposed_grads:
        grads["weight_ih"], grads["weight_hh"] = grads["weight_ih"].T, grads["weight_hh"].T
    return {
        "dx": da_ih @ weight_ih,  # a = x_t W_ih^T + ...
        "dh_prev": da_hh @ weight_hh,  # a = ... + h_prev W_hh^T
        "grads": grads,
    }


#: The transposed-weight feedback names the weight of the output checked.
TRANSPOSED_TEXT = {
    "dx": "the weight is transposed in the backward pass: dx_t = da @ weight_ih (no .T) for a = x_t @ W_ih^T",
    "dh_prev": "the weight is transposed in the backward pass: dh_prev = da @ weight_hh (no .T) for a = "
    "h_prev @ W_hh^T",
    "both": "the weights are transposed in the backward pass: dx_t = da @ weight_ih and dh_prev = da @ "
    "weight_hh (no .T)",
}


TRANSPOSED_GRAD_TEXT = (
    "the weight gradient is transposed: dW_hh = da.T @ h_prev and dW_ih = da.T @ x_t have the weights' shapes"
)


def step_backward_mistakes(
    spec: CellSpec, sites: Sequence[TanhSite], output: str, extra: Sequence[tuple[str, dict[str, Any]]] = ()
) -> list[tuple[str, dict[str, Any]]]:
    """(feedback, knobs) for each known step backward mistake that can show in ``output``."""
    mistakes: list[tuple[str, dict[str, Any]]] = [
        (message, {"derivatives": {site.y: derivative}})
        for site in sites
        for message, derivative in tanh_derivative_mistakes(site)
    ]
    mistakes += list(extra)
    if output in ("dx", "dh_prev"):
        mistakes.append((TRANSPOSED_TEXT[output], {"transposed": True}))
    if output == "grads":
        mistakes.append((TRANSPOSED_GRAD_TEXT, {"transposed_grads": True}))
    gradient_names = [f"d{gate}" for gate in spec.gates]
    stack_hint = f" (stack them in torch's order {', '.join(spec.gates)})"
    mistakes += [
        (gate_order_text(gradient_names, order, "gate gradients", "result") + stack_hint, {"order": order})
        for order in gate_permutations(spec.num_gates)
    ]
    return mistakes


def step_backward_variants(
    spec: CellSpec,
    backward: Callable[..., dict[str, Any]],
    sites: Sequence[TanhSite],
    output: str,
    extra: Sequence[tuple[str, dict[str, Any]]] = (),
) -> list[Variant]:
    """Known mistakes in a step backward, for ``output`` ("dx", "dh_prev", "grads", "dc_prev", ...).

    Args:
        backward: the cell's step backward on the check's inputs, written with the knobs
            ``backward(derivatives={site.y: derivative}, order=..., transposed=..., transposed_grads=...,
            **extra_knobs)``; it returns a dict with ``output``.
        sites: the tanh derivatives it takes.
        extra: the cell's own mistakes, (feedback, knobs), tried after the tanh derivatives.
    """

    def variant(knobs: dict[str, Any]) -> Callable[[], Any]:
        return lambda: backward(**knobs)[output]

    return [
        (message, variant(knobs)) for message, knobs in step_backward_mistakes(spec, sites, output, extra)
    ]


# --- over time ----------------------------------------------------------------------------------------------


def run_steps(
    cell: CellSteps, x: np.ndarray, params: dict, initial: tuple, carry: Sequence[bool] | None = None
) -> tuple[np.ndarray, tuple, list]:
    """The sequence forward over the right step: (out (T, B, H), final states, caches).

    ``carry[k]`` False is the mistake of starting every step from the initial state k.
    """
    carry = carry or [True] * len(initial)
    states, out, caches = initial, [], []
    for x_t in x:
        inputs = tuple(
            state if keep else start for state, start, keep in zip(states, initial, carry, strict=True)
        )
        *new_states, cache = cell.forward(x_t, *inputs, params)
        states = tuple(new_states)
        out.append(states[0])
        caches.append(cache)
    return np.stack(out), states, caches


def sequence_forward_variants(cell: CellSteps, x: np.ndarray, params: dict, initial: tuple) -> list[Variant]:
    """Known mistakes over time for ``out``: off by one, an initial state ignored, a state not carried.

    ``initial`` holds the initial states the check passed (zeros where it passed None).
    """

    def shifted() -> np.ndarray:
        out = run_steps(cell, x, params, initial)[0]
        return np.concatenate([initial[0][None], out[:-1]])

    def without(k: int) -> np.ndarray:
        starts = tuple(np.zeros_like(state) if j == k else state for j, state in enumerate(initial))
        return run_steps(cell, x, params, starts)[0]

    def not_carried(k: int) -> np.ndarray:
        return run_steps(cell, x, params, initial, [j != k for j in range(len(initial))])[0]

    variants: list[Variant] = [
        (
            "off by one in time: your out[t] is the reference's out[t-1] (out[0] = h0); store h "
            "after the step",
            shifted,
        )
    ]
    variants += [
        (
            f"{state}0 is ignored: the first step must start from {state}0 when it is given",
            partial(without, k),
        )
        for k, state in enumerate(cell.states)
    ]
    variants += [
        (
            f"the {STATE_WORDS.get(state, state)} state is not carried: every step starts from {state}0 "
            f"instead of the previous step's {state}",
            partial(not_carried, k),
        )
        for k, state in enumerate(cell.states)
    ]
    return variants


def _states_before_each_step(cell: CellSteps, x: np.ndarray, params: dict, initial: tuple) -> list[tuple]:
    """The states each step starts from: initial, then the states after steps 0..T-2."""
    states, before = initial, []
    for x_t in x:
        before.append(states)
        *new_states, _ = cell.forward(x_t, *states, params)
        states = tuple(new_states)
    return before


def bptt(
    cell: CellSteps,
    x: np.ndarray,
    params: dict,
    initial: tuple,
    dout: np.ndarray,
    dfinal: tuple,
    *,
    carry: Sequence[bool] | None = None,
    use_final: Sequence[bool] | None = None,
    accumulate: bool = True,
    shift: int = 0,
    stop: int = 0,
    step_backward: Callable[..., dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """BPTT over the right step backward, optionally with a mistake: dx, grads and d<state>0 for each state.

    Args:
        dfinal: the gradients into the final states, (dh_T,) or (dh_T, dc_T).
        carry: ``carry[k]`` False drops state k's gradient between steps.
        use_final: ``use_final[k]`` False ignores ``dfinal[k]``.
        accumulate: False keeps the grads of the last step computed (the first time step) only.
        shift: step t receives dout[t - shift] (zeros outside 0..T-1).
        stop: the loop stops at t = stop instead of 0.
        step_backward: a step backward with a mistake, ``step_backward(*dstates, x_t, *states_prev, params)``
            returning a dict with "dx", "d<state>_prev" and "grads"; None: the cell's own.
    """
    carry = carry or [True] * len(dfinal)
    use_final = use_final or [True] * len(dfinal)
    T = x.shape[0]
    caches = run_steps(cell, x, params, initial)[2]
    before = _states_before_each_step(cell, x, params, initial) if step_backward else []
    dnext = [grad if use else np.zeros_like(grad) for grad, use in zip(dfinal, use_final, strict=True)]
    dprev = dnext
    dx, grads = np.zeros_like(x), None
    for t in reversed(range(stop, T)):
        dout_t = dout[t - shift] if 0 <= t - shift < T else np.zeros_like(dout[0])
        # h feeds out[t] and step t+1: dh = dout[t] + dh_next; the other states feed step t+1 only
        dstates = (dout_t + dnext[0], *dnext[1:])
        if step_backward is None:
            dx[t], *dprev, step_grads = cell.backward(*dstates, caches[t])
        else:
            result = step_backward(*dstates, x[t], *before[t], params)
            dx[t], step_grads = result["dx"], result["grads"]
            dprev = [result[f"d{state}_prev"] for state in cell.states]
        dnext = [grad if keep else np.zeros_like(grad) for grad, keep in zip(dprev, carry, strict=True)]
        if grads is None or not accumulate:
            grads = {name: value.copy() for name, value in step_grads.items()}
        else:
            grads = {name: grads[name] + step_grads[name] for name in grads}
    result = {"dx": dx, "grads": grads}
    result.update({f"d{state}0": grad for state, grad in zip(cell.states, dprev, strict=True)})
    return result


def bptt_variants(
    cell: CellSteps,
    x: np.ndarray,
    params: dict,
    initial: tuple,
    dout: np.ndarray,
    dfinal: tuple,
    output: str,
    backward: Callable[..., dict[str, Any]] | None = None,
    sites: Sequence[TanhSite] = (),
) -> list[Variant]:
    """Known BPTT mistakes for ``output`` ("dx", "grads", "dh0", "dc0"), built on the right step backward.

    With the cell's step ``backward`` written with knobs (see ``step_backward_variants``; called as
    ``backward(*dstates, x_t, *states_prev, params, **knobs)``), the step's own mistakes made inside the loop
    are named too: a wrong tanh derivative at ``sites``, a transposed weight or weight gradient.
    """
    states = cell.states

    def variant(**mistake: Any) -> Callable[[], Any]:
        return lambda: bptt(cell, x, params, initial, dout, dfinal, **mistake)[output]

    def all_but(k: int) -> list[bool]:
        return [j != k for j in range(len(states))]

    variants: list[Variant] = []
    for k, state in enumerate(states):
        if k == 0:
            message = (
                "the gradient matches for the last time step but not earlier ones: is dh from step t+1 "
                "added to dout[t]? (dh_next = dh_prev of the step after)"
            )
        else:
            word = STATE_WORDS.get(state, state)
            message = (
                f"the {word} gradient is not carried back in time: pass d{state}_prev of step t+1 as "
                f"d{state} into step t"
            )
        variants.append((message, variant(carry=all_but(k))))
    if len(states) > 1:
        neither = " nor ".join(f"d{state}" for state in states)
        variants.append(
            (
                f"the gradient matches for the last time step only: neither {neither} is carried from "
                "step t+1 to step t",
                variant(carry=[False] * len(states)),
            )
        )
    variants.append(
        (
            "the grads are those of the first time step only: accumulate them over all steps with +=",
            variant(accumulate=False),
        )
    )
    for k, state in enumerate(states):
        if k == 0:
            message = "dh_T is ignored: the gradient into the last state must be added to dout[T-1]"
        else:
            message = f"d{state}_T is ignored: it is the d{state} flowing into the last step"
        variants.append((message, variant(use_final=all_but(k))))
    variants += [
        (
            "off by one in time: step t receives dout[t-1]; use dout[t] + dh_next at step t",
            variant(shift=1),
        ),
        (
            "off by one in time: step t receives dout[t+1]; use dout[t] + dh_next at step t",
            variant(shift=-1),
        ),
        (
            "off by one in time: the loop stops before t = 0; run t = T-1 down to 0, "
            "for t in reversed(range(T))",
            variant(stop=1),
        ),
    ]
    if backward is not None:
        in_the_loop = [
            *step_backward_mistakes(cell.spec, sites, output="grads"),
            (TRANSPOSED_TEXT["both"], {"transposed": True}),
        ]
        variants += [
            (message, variant(step_backward=partial(backward, **knobs))) for message, knobs in in_the_loop
        ]
    return variants

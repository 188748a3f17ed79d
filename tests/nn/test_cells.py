"""lstm_course.nn cells against torch.nn.RNNCell/LSTMCell/GRUCell: outputs and every gradient, float64."""

import numpy as np
import pytest
import torch
from torch import nn

import lstm_course.nn as our
from lstm_course.nn.cells import MODES, torch_cell

B, D, H = 3, 4, 5
CELLS = [
    ("RNNCell", {}),
    ("RNNCell", {"nonlinearity": "relu"}),
    ("RNNCell", {"bias": False}),
    ("LSTMCell", {}),
    ("LSTMCell", {"bias": False}),
    ("GRUCell", {}),
    ("GRUCell", {"bias": False}),
]
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}" for name, kw in CELLS]


def make_pair(name, kwargs, device=None):
    ref = getattr(nn, name)(D, H, dtype=torch.float64, device=device, **kwargs)
    mine = getattr(our, name)(D, H, dtype=torch.float64, device=device, **kwargs)
    mine.load_state_dict(ref.state_dict())
    return ref, mine


def states(name, batch_shape, device=None):
    h = torch.randn(*batch_shape, H, dtype=torch.float64, device=device)
    return (h, torch.randn_like(h)) if name == "LSTMCell" else (h,)


@pytest.mark.parametrize("name, kwargs", CELLS, ids=IDS)
def test_cell_matches_torch_nn(name, kwargs, device):
    ref, mine = make_pair(name, kwargs, device)
    x = torch.randn(B, D, dtype=torch.float64, device=device)
    s = states(name, (B,), device)
    xs = [x.clone().requires_grad_() for _ in range(2)]
    ss = [[t.clone().requires_grad_() for t in s] for _ in range(2)]
    outs = []
    for module, xi, si in zip((ref, mine), xs, ss, strict=True):
        out = module(xi, tuple(si) if name == "LSTMCell" else si[0])
        out = out if isinstance(out, tuple) else (out,)
        sum((o * (k + 1) * o).sum() for k, o in enumerate(out)).backward()
        outs.append(out)
    for a, b in zip(*outs, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    torch.testing.assert_close(xs[0].grad, xs[1].grad, rtol=0, atol=1e-12)
    for a, b in zip(ss[0], ss[1], strict=True):
        torch.testing.assert_close(a.grad, b.grad, rtol=0, atol=1e-12)
    for (pname, p), q in zip(ref.named_parameters(), mine.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, rtol=0, atol=1e-12, msg=pname)


@pytest.mark.parametrize("name, kwargs", CELLS, ids=IDS)
def test_cell_unbatched_and_default_state(name, kwargs):
    ref, mine = make_pair(name, kwargs)
    x = torch.randn(D, dtype=torch.float64)
    for hx in (None, states(name, ())):
        arg = None if hx is None else (hx if name == "LSTMCell" else hx[0])
        a, b = ref(x, arg), mine(x, arg)
        for u, v in zip(
            a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,), strict=True
        ):
            assert v.shape == (H,)
            torch.testing.assert_close(u, v, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_same_seed_same_init(name):
    torch.manual_seed(7)
    ref = getattr(nn, name)(D, H)
    torch.manual_seed(7)
    mine = getattr(our, name)(D, H)
    assert list(ref.state_dict()) == list(mine.state_dict())
    for k, v in ref.state_dict().items():
        assert torch.equal(v, mine.state_dict()[k]), k


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_bad_input(name):
    cell = getattr(our, name)(D, H)
    with pytest.raises(ValueError, match="input_size"):
        cell(torch.randn(B, D + 1))
    with pytest.raises(ValueError, match="input must be 1-D"):
        cell(torch.randn(2, B, D))
    bad = torch.randn(B + 1, H)
    with pytest.raises(ValueError, match=r"hx.*\(3, 5\)"):
        cell(torch.randn(B, D), (bad, bad) if name == "LSTMCell" else bad)
    with pytest.raises(TypeError, match="floating"):
        cell(torch.ones(B, D, dtype=torch.long))


def test_cell_constructor_checks():
    with pytest.raises(ValueError, match="nonlinearity"):
        our.RNNCell(D, H, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="hidden_size"):
        our.LSTMCell(D, 0)
    with pytest.raises(TypeError, match="tuple"):
        our.LSTMCell(D, H)(torch.randn(B, D), torch.randn(B, H))


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize(
    "make_input", [lambda: np.zeros((B, D)), lambda: [[0.0] * D] * B], ids=["numpy", "list"]
)
def test_cell_non_tensor_input_names_input(name, make_input):
    """Not AttributeError 'dim': the same TypeError the layers give."""
    with pytest.raises(TypeError, match=rf"{name}: input must be a torch\.Tensor, got (ndarray|list)"):
        getattr(our, name)(D, H)(make_input())


@pytest.mark.parametrize("name", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_float64_input_or_state_on_float32_cell_names_both_dtypes(name):
    cell = getattr(our, name)(D, H)
    both = r"has dtype torch\.float64 but the parameters are torch\.float32"
    with pytest.raises(TypeError, match=rf"{name}: input {both}"):
        cell(torch.randn(B, D, dtype=torch.float64))
    double, single = torch.zeros(B, H, dtype=torch.float64), torch.zeros(B, H)
    with pytest.raises(TypeError, match=rf"{name}: hx.* {both}"):
        cell(torch.randn(B, D), (double, single) if name == "LSTMCell" else double)


def test_lstm_cell_float64_c_is_refused():
    with pytest.raises(
        TypeError, match=r"hx\[1\] \(c\) has dtype torch\.float64 but the parameters are torch\.float32"
    ):
        our.LSTMCell(D, H)(torch.randn(B, D), (torch.zeros(B, H), torch.zeros(B, H, dtype=torch.float64)))


@pytest.mark.parametrize("mode", sorted(MODES))
def test_registry_entry_matches_torch_nn(mode):
    """Each torch mode's entry: torch.nn's gate count, a step that returns the spec's states, its Function."""
    entry = torch_cell(mode)
    kind, _, nonlinearity = mode.partition("_")
    extra = {"nonlinearity": nonlinearity.lower()} if nonlinearity else {}
    theirs = getattr(nn, kind)(D, H, dtype=torch.float64, **extra)
    assert theirs.weight_ih_l0.shape == (entry.spec.num_gates * H, D)
    weights = (theirs.weight_ih_l0, theirs.weight_hh_l0, theirs.bias_ih_l0, theirs.bias_hh_l0)
    x = torch.randn(4, B, D, dtype=torch.float64)
    state = tuple(torch.randn(B, H, dtype=torch.float64) for _ in entry.spec.states)
    with torch.no_grad():
        batched = tuple(s.unsqueeze(0) for s in state)  # (L*K = 1, B, H) each
        out, final = theirs(x, batched[0] if len(batched) == 1 else batched)
        stepped = state
        for x_t in x:
            stepped = entry.run_step(x_t, stepped, weights)
        fast_out, fast_final = entry.run_fast(x, state, weights, None, reverse=False)
    finals = tuple(f.squeeze(0) for f in (final if isinstance(final, tuple) else (final,)))
    assert len(stepped) == len(fast_final) == len(finals) == len(entry.spec.states)
    for ours in (stepped, fast_final):
        for a, b in zip(ours, finals, strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    torch.testing.assert_close(fast_out, out, rtol=0, atol=1e-12)


def test_registry_refuses_unknown_modes():
    with pytest.raises(ValueError, match=r"mode must be one of .*got 'RNN_SIGMOID'"):
        torch_cell("RNN_SIGMOID")

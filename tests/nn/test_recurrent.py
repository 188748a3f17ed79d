"""Parity of lstm_course.nn.RNN/LSTM/GRU with torch.nn: outputs, final states and every gradient, float64."""

import itertools

import pytest
import torch
from torch import nn

import lstm_course.nn as our

T, B, D, H = 5, 3, 4, 6
LENGTHS = [5, 2, 4]  # unsorted, one full-length sequence
MODES = ["RNN", "LSTM", "GRU"]


def pair(mode: str, device=None, **kwargs) -> tuple[nn.Module, nn.Module]:
    """torch.nn's module and ours with the same (copied) weights, float64."""
    kwargs = {"dtype": torch.float64, "device": device, **kwargs}
    fast = kwargs.pop("fast", False)
    ref = getattr(nn, mode)(D, H, **kwargs)
    mine = getattr(our, mode)(D, H, fast=fast, **kwargs)
    mine.load_state_dict(ref.state_dict())
    return ref, mine


def leaves(*tensors: torch.Tensor) -> list[torch.Tensor]:
    return [t.detach().clone().requires_grad_() for t in tensors]


def run(module, mode, x, states, lengths, packed: bool):
    """Forward x with initial states; with lengths, torch.nn gets a packed sequence, ours lengths=."""
    hx = tuple(states) if mode == "LSTM" else states[0]
    if lengths is None:
        out, final = module(x, hx)
    elif packed:
        bf = module.batch_first
        p = nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), batch_first=bf, enforce_sorted=False)
        out, final = module(p, hx)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=bf, total_length=T)
    else:
        out, final = module(x, hx, lengths=lengths)
    return out, (final if mode == "LSTM" else (final,))


def assert_close(a: torch.Tensor, b: torch.Tensor, what: str, tol: float = 1e-9) -> None:
    assert a.shape == b.shape, f"{what}: shape {tuple(a.shape)} != {tuple(b.shape)}"
    err = (a - b).abs().max().item() if a.numel() else 0.0
    assert err <= tol, f"{what}: max abs difference {err:.3g} > {tol}"


def check_parity(mode, ref, mine, x, states, lengths, tol=1e-9):
    """Same loss through both modules; compare outputs, final states and the gradient of every input."""
    x1, x2 = leaves(x, x)
    s1, s2 = leaves(*states), leaves(*states)
    out1, fin1 = run(ref, mode, x1, s1, lengths, packed=True)
    out2, fin2 = run(mine, mode, x2, s2, lengths, packed=False)
    assert_close(out1, out2, "output", tol)
    for i, (a, b) in enumerate(zip(fin1, fin2, strict=True)):
        assert_close(a, b, f"final state {i}", tol)
    w = torch.randn_like(out1)
    loss1 = (out1 * w).sum() + sum((f * f).sum() for f in fin1)
    loss2 = (out2 * w).sum() + sum((f * f).sum() for f in fin2)
    loss1.backward()
    loss2.backward()
    assert_close(x1.grad, x2.grad, "input gradient", tol)
    for i, (a, b) in enumerate(zip(s1, s2, strict=True)):
        assert_close(a.grad, b.grad, f"initial state {i} gradient", tol)
    mine_params = dict(mine.named_parameters())
    for name, p in ref.named_parameters():
        assert_close(p.grad, mine_params[name].grad, f"gradient of {name}", tol)


def inputs(mode, num_layers, bidirectional, batch_first, device=None):
    K = 2 if bidirectional else 1
    shape = (B, T, D) if batch_first else (T, B, D)
    x = torch.randn(*shape, dtype=torch.float64, device=device)
    states = [torch.randn(num_layers * K, B, H, dtype=torch.float64, device=device)]
    if mode == "LSTM":
        states.append(torch.randn_like(states[0]))
    return x, states


CASES = list(itertools.product(MODES, [1, 2], [False, True], [False, True], [False, True], [False, True]))


@pytest.mark.parametrize(
    "mode, num_layers, bidirectional, batch_first, with_lengths, fast",
    CASES,
    ids=[
        f"{m}-L{L}-{'bi' if bi else 'uni'}-{'bf' if bf else 'tm'}-{'len' if ln else 'full'}-"
        + ("fast" if f else "plain")
        for m, L, bi, bf, ln, f in CASES
    ],
)
def test_matches_torch_nn(mode, num_layers, bidirectional, batch_first, with_lengths, fast):
    ref, mine = pair(
        mode, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, fast=fast
    )
    x, states = inputs(mode, num_layers, bidirectional, batch_first)
    check_parity(mode, ref, mine, x, states, LENGTHS if with_lengths else None)


@pytest.mark.parametrize("fast", [False, True], ids=["plain", "fast"])
@pytest.mark.parametrize(
    "mode, kwargs",
    [
        ("RNN", {"nonlinearity": "relu"}),
        ("RNN", {"bias": False}),
        ("LSTM", {"bias": False}),
        ("GRU", {"bias": False}),
    ],
    ids=["rnn-relu", "rnn-nobias", "lstm-nobias", "gru-nobias"],
)
def test_matches_torch_nn_variants(mode, kwargs, fast):
    ref, mine = pair(mode, num_layers=2, bidirectional=True, fast=fast, **kwargs)
    x, states = inputs(mode, 2, True, False)
    check_parity(mode, ref, mine, x, states, LENGTHS)


@pytest.mark.parametrize("fast", [False, True], ids=["plain", "fast"])
@pytest.mark.parametrize("mode", MODES)
def test_matches_torch_nn_on_device(mode, fast, device):
    """float32 on each available device, without initial states."""
    ref = getattr(nn, mode)(D, H, num_layers=2, bidirectional=True, device=device)
    mine = getattr(our, mode)(D, H, num_layers=2, bidirectional=True, device=device, fast=fast)
    mine.load_state_dict(ref.state_dict())
    x = torch.randn(T, B, D, device=device)
    out1, fin1 = ref(x)
    out2, fin2 = mine(x)
    assert out2.dtype == torch.float32 and out2.device.type == device.type
    assert_close(out1, out2, "output", 1e-5)
    out1.sum().backward()
    out2.sum().backward()
    for (name, p), q in zip(ref.named_parameters(), mine.parameters(), strict=True):
        assert_close(p.grad, q.grad, f"gradient of {name}", 1e-4)


@pytest.mark.parametrize("mode", MODES)
def test_same_seed_same_init_and_names(mode):
    """Same seed, same weights as torch.nn: parameters are registered and initialised in torch.nn's order."""
    torch.manual_seed(3)
    ref = getattr(nn, mode)(D, H, num_layers=2, bidirectional=True)
    torch.manual_seed(3)
    mine = getattr(our, mode)(D, H, num_layers=2, bidirectional=True)
    ref_sd, mine_sd = ref.state_dict(), mine.state_dict()
    assert list(ref_sd) == list(mine_sd)
    for k in ref_sd:
        assert torch.equal(ref_sd[k], mine_sd[k]), k


@pytest.mark.parametrize("mode", MODES)
def test_state_dict_loads_into_torch_nn(mode):
    """load_state_dict works in the other direction too."""
    mine = getattr(our, mode)(D, H, num_layers=2, bidirectional=True, dtype=torch.float64)
    ref = getattr(nn, mode)(D, H, num_layers=2, bidirectional=True, dtype=torch.float64)
    ref.load_state_dict(mine.state_dict())
    x = torch.randn(T, B, D, dtype=torch.float64)
    assert_close(ref(x)[0], mine(x)[0], "output")


@pytest.mark.parametrize("fast", [False, True], ids=["plain", "fast"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("mode", MODES)
def test_unbatched_input(mode, batch_first, fast):
    """(T, D) input and (L*K, H) states, as torch.nn allows."""
    ref, mine = pair(mode, num_layers=2, bidirectional=True, batch_first=batch_first, fast=fast)
    x = torch.randn(T, D, dtype=torch.float64)
    h0 = torch.randn(4, H, dtype=torch.float64)
    hx = (h0, torch.randn_like(h0)) if mode == "LSTM" else h0
    out1, fin1 = ref(x, hx)
    out2, fin2 = mine(x, hx)
    assert_close(out1, out2, "output")
    for a, b in zip(fin1 if mode == "LSTM" else (fin1,), fin2 if mode == "LSTM" else (fin2,), strict=True):
        assert_close(a, b, "final state")


@pytest.mark.parametrize("fast", [False, True], ids=["plain", "fast"])
def test_lengths_as_list_tensor_and_full(fast):
    """lengths may be a list or an int tensor; all-full lengths give the unpadded result."""
    _, mine = pair("LSTM", fast=fast)
    x = torch.randn(T, B, D, dtype=torch.float64)
    full, (h, c) = mine(x)
    for lengths in ([T] * B, torch.full((B,), T), torch.full((B,), T, dtype=torch.int32)):
        out, (h2, c2) = mine(x, lengths=lengths)
        assert_close(full, out, "output")
        assert_close(h, h2, "h_n")
    out, _ = mine(x, lengths=LENGTHS)
    assert torch.count_nonzero(out[2:, 1]) == 0  # sequence 1 has length 2: zeros after it


def test_dropout_between_layers():
    """Dropout changes training outputs, not eval outputs, and one layer with dropout warns like torch.nn."""
    lstm = our.LSTM(D, H, num_layers=2, dropout=0.5)
    x = torch.randn(T, B, D)
    lstm.eval()
    assert torch.equal(lstm(x)[0], lstm(x)[0])
    lstm.train()
    assert not torch.equal(lstm(x)[0], lstm(x)[0])
    with pytest.warns(UserWarning, match="dropout"):
        our.LSTM(D, H, num_layers=1, dropout=0.5)


def test_float32_stays_float32_and_float64_stays_float64():
    for dtype in (torch.float32, torch.float64):
        for fast in (False, True):
            lstm = our.LSTM(D, H, dtype=dtype, fast=fast)
            out, (h, c) = lstm(torch.randn(T, B, D, dtype=dtype))
            assert out.dtype == h.dtype == c.dtype == dtype


@pytest.mark.parametrize("fast", [False, True], ids=["plain", "fast"])
def test_gradient_does_not_depend_on_padding_values(fast):
    """Changing the inputs past each sequence's end changes nothing, and their gradient is exactly zero."""
    _, mine = pair("GRU", bidirectional=True, fast=fast)
    x = torch.randn(T, B, D, dtype=torch.float64, requires_grad=True)
    out, h = mine(x, lengths=LENGTHS)
    (out.sum() + h.sum()).backward()
    assert torch.count_nonzero(x.grad[2:, 1]) == 0
    y = x.detach().clone()
    y[2:, 1] = 100.0
    out2, h2 = mine(y, lengths=LENGTHS)
    assert_close(out, out2, "output")
    assert_close(h, h2, "final state")

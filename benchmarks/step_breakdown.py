"""Where a training step's time goes above the matmul floor (784-400-20, batch 128, Bernoulli).

Run from the repository root:

    python benchmarks/step_breakdown.py [--threads 2] [--rounds 30]

The step is rebuilt in layers, each contender adding one part to the one before:

1. the matmul floor of ``train_speed.py``: a step's GEMMs on the same operands every time;
2. the same GEMMs in the step's own data flow (fresh activations, the real batch), with the
   bias gradients;
3. a hand-written forward and backward without autograd: + the Bernoulli likelihood's tail,
   then + every other elementwise op (ReLU, scale, KL);
4. + fused Adam on the gradients, inside the step (its memory traffic now misses the cache);
5. vaekit's own step: the ELBO objective and autograd, then + gradient check and fused Adam.

The hand-written gradients are checked against autograd before timing. Contenders run
interleaved in chunks of 40 steps; the machine's noise is one-sided (other tenants only slow a
chunk down), so the minimum over chunks is printed beside the median. No number is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor

import vaekit
from vaekit.runtime import flush_denormals
from vaekit.training import make_optimizer
from vaekit.training.loop import _non_finite_gradient

D, H, L, B = 784, 400, 20, 128
FLOOR = 1e-5  # vaekit's posterior scale floor
CHUNK = 40  # steps a contender runs before the next one takes over


def _manual(ps: list[Tensor], x: Tensor, eps: Tensor, parts: int) -> list[Tensor]:
    """Gradients of the mean negative ELBO by hand. ``parts``: 0 GEMMs + bias grads only,
    1 + the Bernoulli tail, 2 + all elementwise ops (the true gradient)."""
    w1, b1, w2, b2, w3, b3, w4, b4 = ps
    ew = parts >= 2
    a1 = torch.addmm(b1, x, w1.T)  # (B, H)
    h1 = a1.relu() if ew else a1
    e = torch.addmm(b2, h1, w2.T)  # (B, 2L): μ and the raw scale from one head
    loc, raw = e[:, :L], e[:, L:]
    scale = F.softplus(raw) + FLOOR if ew else raw
    z = loc + scale * eps if ew else loc.contiguous()  # (B, L)
    a3 = torch.addmm(b3, z, w3.T)
    h3 = a3.relu() if ew else a3
    out = torch.addmm(b4, h3, w4.T)  # (B, D) logits
    if parts >= 1:  # d(−Σ x·l − softplus(l))/dl = σ(l) − x; the loss value is computed too
        rec = (out * x).sum(-1) - F.softplus(out).sum(-1)  # (B,)
        g_out = torch.sigmoid(out).sub_(x).div_(B)
    else:
        g_out = out
    if ew:
        kl = 0.5 * (loc.square() + scale.square() - 1).sum(-1) - scale.log().sum(-1)  # (B,)
        (kl - rec).mean()
    g_w4, g_b4, g_h3 = g_out.T @ h3, g_out.sum(0), g_out @ w4
    g_a3 = torch.ops.aten.threshold_backward(g_h3, a3, 0) if ew else g_h3
    g_w3, g_b3, g_z = g_a3.T @ z, g_a3.sum(0), g_a3 @ w3
    if ew:  # KL: d/dμ = μ, d/dσ = σ − 1/σ; softplus' = sigmoid
        g_loc = g_z + loc / B
        g_raw = (g_z * eps + (scale - 1 / scale) / B) * torch.sigmoid(raw)
        g_e = torch.cat([g_loc, g_raw], 1)
    else:
        g_e = torch.cat([g_z, g_z], 1)
    g_w2, g_b2, g_h1 = g_e.T @ h1, g_e.sum(0), g_e @ w2
    g_a1 = torch.ops.aten.threshold_backward(g_h1, a1, 0) if ew else g_h1
    return [g_a1.T @ x, g_a1.sum(0), g_w2, g_b2, g_w3, g_b3, g_w4, g_b4]


def _check_manual(model: vaekit.VAE, x: Tensor) -> None:
    """The hand-written gradient equals autograd's (float64), or the breakdown is meaningless."""
    ps = [p.detach().double().requires_grad_() for p in model.parameters()]
    eps = torch.randn(x.shape[0], L, dtype=torch.float64)
    w1, b1, w2, b2, w3, b3, w4, b4 = ps
    loc, raw = F.linear(F.linear(x.double(), w1, b1).relu(), w2, b2).chunk(2, -1)
    scale = F.softplus(raw) + FLOOR
    out = F.linear(F.linear(loc + scale * eps, w3, b3).relu(), w4, b4)
    rec = (out * x).sum(-1) - F.softplus(out).sum(-1)
    kl = 0.5 * (loc.square() + scale.square() - 1).sum(-1) - scale.log().sum(-1)
    auto = torch.autograd.grad((kl - rec).mean(), ps)
    mine = _manual([p.detach() for p in ps], x.double(), eps, parts=2)
    err = max(float((a - m).abs().max()) for a, m in zip(auto, mine, strict=True))
    if err > 1e-10:
        raise SystemExit(f"hand-written gradient differs from autograd by {err:.3g}")


def _contenders(model: vaekit.VAE) -> dict[str, Callable[[Tensor], object]]:
    from train_speed import floor_step  # the same floor as train_speed's

    gemms = floor_step(H, L, B)
    ps = [p.detach().clone().requires_grad_() for p in model.parameters()]
    raw = [p.detach() for p in ps]
    opt = torch.optim.Adam(ps, lr=1e-3, fused=True)

    def manual(parts: int) -> Callable[[Tensor], object]:
        return lambda x: _manual(raw, x, torch.randn(B, L), parts)

    def manual_adam(x: Tensor) -> None:
        for p, g in zip(ps, _manual(raw, x, torch.randn(B, L), 2), strict=True):
            p.grad = g
        opt.step()

    objective = vaekit.ELBO()
    v_opt = make_optimizer(model, 1e-3)
    v_params = list(model.parameters())
    gen = torch.Generator().manual_seed(0)

    def vaekit_grad(x: Tensor) -> None:
        v_opt.zero_grad(set_to_none=True)
        objective(model, x, gen).loss.backward()

    def vaekit_step(x: Tensor) -> None:  # the body of Trainer._steps
        terms = objective(model, x, gen)
        torch.isfinite(terms.loss).item()
        v_opt.zero_grad(set_to_none=True)
        terms.loss.backward()
        _non_finite_gradient(model, v_params)
        v_opt.step()

    return {
        "matmul floor (operands reused)": lambda x: gemms(),
        "GEMMs in the step's data flow + bias grads": manual(0),
        "hand-written: + Bernoulli tail": manual(1),
        "hand-written: + all elementwise": manual(2),
        "hand-written: + fused Adam": manual_adam,
        "vaekit: objective + autograd": vaekit_grad,
        "vaekit: full step": vaekit_step,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared/data"))
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--rounds", type=int, default=30)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    x_all = torch.from_numpy(vaekit.load_dataset("binarized-mnist", data_dir=a.data_dir).train)
    config = vaekit.ModelConfig(input_dim=D, latent_dim=L, hidden=(H,), likelihood="bernoulli")
    model = vaekit.VAE(config)
    _check_manual(model, x_all[:B])
    contenders = _contenders(model)
    times: dict[str, list[float]] = {k: [] for k in contenders}
    gen = torch.Generator().manual_seed(0)
    with flush_denormals():  # as in vaekit's trainer, for every contender
        for _ in range(a.rounds):
            for name, step in contenders.items():
                idx = torch.randint(x_all.shape[0], (CHUNK, B), generator=gen)
                t0 = time.perf_counter()
                for i in range(CHUNK):
                    step(x_all.index_select(0, idx[i]))
                times[name].append((time.perf_counter() - t0) / CHUNK * 1e6)
    f_min = min(times["matmul floor (operands reused)"])
    f_med = statistics.median(times["matmul floor (operands reused)"])
    print(f"torch {torch.__version__}, {a.threads} thread(s), {a.rounds} rounds of {CHUNK} steps")
    print("| contender | min µs/step | / floor | median µs/step | / floor |")
    print("|---|---:|---:|---:|---:|")
    for name, ts in times.items():
        lo, med = min(ts), statistics.median(ts)
        print(f"| {name} | {lo:.0f} | {lo / f_min:.2f} | {med:.0f} | {med / f_med:.2f} |")


if __name__ == "__main__":
    main()

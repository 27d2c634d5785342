"""The VAE: encoder → q(z|x), prior p(z), decoder → p(x|z). It computes no loss.

A conditional VAE (``condition`` set) is the same model with c beside x in its input rows,
[x, c] (conditions.py): q(z|x, c), p(z|c), p(x|z, c). Every method below takes such rows, so
every objective and estimator works on both without knowing which it has.

Its log-joint — log p(x|z), log p(z) and log q(z|x) at given draws — is computed in one
place, :meth:`VAE.log_joint`, which every objective (ELBO, IWAE), the importance-sampled
log-likelihood and the gap diagnostics call. ``forward`` (encode, draw, log-joint) is what
wrappers such as ``torch.compile`` or DistributedDataParallel wrap.
"""

from __future__ import annotations

from functools import cached_property

import torch
from torch import Tensor, nn
from torch.distributions import Distribution, Independent

from ..errors import ConfigError
from .conditions import Condition, make_condition
from .config import ModelConfig
from .kl import kl_to_prior
from .likelihoods import LIKELIHOODS, Likelihood
from .networks import build_networks, widest_activation
from .posterior import detached, posterior, rsample
from .priors import make_prior


def run_decoder(decoder: nn.Module, z: Tensor, features: Tensor | None) -> Tensor:
    """The decoder network on latents (..., B, L), with condition features (B, F) if any; its
    output in z's dtype, so a bf16-autocast network still gives float32 to the likelihood."""
    out = decoder(z) if features is None else decoder(z, features)
    return out.to(z.dtype)


class LogJoint:
    """The terms of log p(x, z) − log q(z|x) at draws z ~ q(z|x), for a batch x.

    z is (B, L) or (S, B, L) for S draws per example; every term is (B,) or (S, B), summed
    over the data or latent dimensions. The decoder runs on construction; the prior and
    posterior terms are computed on first use, so an objective with an analytic KL pays for
    neither.
    """

    def __init__(self, model: VAE, rows: Tensor, z: Tensor, q: Independent,
                 prior: Distribution | None = None) -> None:  # fmt: skip
        x, self.features = model.parts(rows)  # (B, D), (B, F) or None
        self.x, self.z, self.q = x, z, q
        self._prior = model.prior
        if prior is not None:
            self.__dict__["prior"] = prior  # the cached_property below, already computed
        self.decoder_output = run_decoder(model.decoder, z, self.features)  # (..., B, P*D)
        scored = None if model.condition is None else model.condition.scored()
        # log p(x|z[, c]), over the scored dimensions only (a mask's unobserved ones)
        self.log_likelihood = model.likelihood.log_prob(self.decoder_output, x, scored)

    @cached_property
    def prior(self) -> Distribution:
        """p(z) or p(z|c): batch shape () or (B,), event shape (L,)."""
        return self._prior.distribution(self.features)

    @cached_property
    def log_prior(self) -> Tensor:
        """log p(z), (..., B)."""
        return self.prior.log_prob(self.z)

    @cached_property
    def log_posterior(self) -> Tensor:
        """log q(z|x), (..., B)."""
        return self.q.log_prob(self.z)

    def log_weight(self, stop_posterior_gradient: bool = False) -> Tensor:
        """log p(x, z) − log q(z|x), (..., B): the importance weight of each draw.

        ``stop_posterior_gradient`` cuts q's parameters from log q (they still reach it
        through z), as the doubly reparameterised gradient needs.
        """
        log_prior = self.log_prior  # before log q: keeps autograd's accumulation order
        log_q = detached(self.q).log_prob(self.z) if stop_posterior_gradient else self.log_posterior
        return self.log_likelihood + log_prior - log_q

    def kl(self, z: Tensor | None = None) -> Tensor:
        """KL(q(z|x) ‖ p(z)) per example, (B,): analytic where it exists, else estimated at
        ``z`` (default: these draws, averaged over S)."""
        return kl_to_prior(self.q, self.prior, self.z if z is None else z)


class VAE(nn.Module):
    """Gaussian-latent VAE with an amortised diagonal-Gaussian posterior."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        # Registration order fixes parameters() order, which checkpoints' optimiser state uses.
        self.likelihood: Likelihood = LIKELIHOODS.lookup(config.likelihood).from_config(config)
        out_dim = self.likelihood.params_per_dim * config.input_dim
        self.encoder, self.decoder = build_networks(config, out_dim)
        self.prior: nn.Module = make_prior(config, self._encode_x)
        self.condition: Condition | None = make_condition(config)  # buffers, or a class embedding

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def input_dim(self) -> int:
        return self.config.input_dim

    @property
    def row_dim(self) -> int:
        """D + P: the width of the model's input rows, x and (if conditional) c beside it."""
        return self.input_dim + (0 if self.condition is None else self.condition.packed)

    @property
    def scored_dim(self) -> int:
        """The data dimensions log p(x|z) scores: all, or a mask's unobserved ones."""
        w = None if self.condition is None else self.condition.scored()
        return self.input_dim if w is None else int(w.sum())

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    @cached_property
    def decoder_width(self) -> int:
        """Elements per latent draw of the decoder's largest tensor, its output or wider
        feature maps: how the chunked importance-sampling loop bounds its memory."""
        cond = 0 if self.condition is None else self.condition.features
        return widest_activation(self.decoder, self.latent_dim, cond)

    def parts(self, rows: Tensor) -> tuple[Tensor, Tensor | None]:
        """Input rows -> x (B, D) and the condition's features (B, F), None if unconditional."""
        if self.condition is None:
            return rows, None
        x, c = self.condition.split(rows, self.input_dim)
        return x, self.condition.features_of(x, c)

    def encode(self, rows: Tensor) -> Independent:
        """q(z|x) or q(z|x, c): batch shape (B,), event shape (L,)."""
        x, f = self.parts(rows)
        return self._encode_x(x, f)

    def _encode_x(self, x: Tensor, f: Tensor | None = None) -> Independent:
        out = self.encoder(x) if f is None else self.encoder(x, f)  # (B, 2L)
        loc, raw = out.to(x.dtype).chunk(2, dim=-1)  # (B, L) each, float32 under autocast too
        return posterior(loc, raw)

    def decoder_output(self, z: Tensor, features: Tensor | None = None) -> Tensor:
        """Raw decoder parameters (..., P*D) for latents (..., B, L) [and features (B, F)]."""
        if features is None and self.condition is not None:
            raise ConfigError(f"this model decodes given its condition "
                              f"({self.config.condition}): pass its features, "
                              "model.condition.features_of(x, c)")  # fmt: skip
        return run_decoder(self.decoder, z, features)

    def decode(self, z: Tensor, features: Tensor | None = None) -> Distribution:
        """p(x|z[, c]): batch shape (...), event shape (D,)."""
        return self.likelihood.distribution(self.decoder_output(z, features))

    def log_joint(
        self, rows: Tensor, z: Tensor, q: Independent, prior: Distribution | None = None
    ) -> LogJoint:
        """The log-joint terms at draws ``z`` (..., B, L) from ``q`` (the encoder's, or any
        Gaussian proposal with batch shape (B,)). ``prior``: this batch's
        :meth:`prior_of`, when a loop over draws has it already."""
        return LogJoint(self, rows, z, q, prior)

    def prior_of(self, rows: Tensor) -> Distribution:
        """p(z), or p(z|c) for these rows: batch shape () or (B,), event shape (L,). A loop
        that scores many draws of one batch computes it once: a VampPrior's is an encoder
        pass over all its pseudo-inputs."""
        return self.prior.distribution(self.parts(rows)[1])

    def forward(
        self, x: Tensor, samples: int | None = None, generator: torch.Generator | None = None
    ) -> LogJoint:
        """Encode ``x`` (B, D), draw z ~ q(z|x) reparameterised — (B, L), or (S, B, L) for
        ``samples`` = S — and return the log-joint at those draws."""
        q = self.encode(x)
        return self.log_joint(x, rsample(q, samples, generator), q)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        generator: torch.Generator | None = None,
        noise: bool = False,
        condition: Tensor | None = None,
    ) -> Tensor:
        """(n, D) decoder means at z ~ p(z), or draws x ~ p(x|z) with ``noise=True``. A
        conditional model needs ``condition``: (n, P) rows of c as its data holds them (class
        indices, attribute vectors), one sample each."""
        f = None
        if self.condition is not None:
            if condition is None or condition.shape != (n, self.condition.packed):
                raise ValueError(f"this conditional model samples from (n, "
                                 f"{self.condition.packed}) condition rows")  # fmt: skip
            f = self.condition.features_of(None, condition.to(self.dtype))
        z = self.prior.sample(n, generator, f)
        out = self.decoder_output(z, f)
        return self.likelihood.sample(out, generator) if noise else self.likelihood.mean(out)

    @torch.no_grad()
    def complete(
        self, x: Tensor, n: int, generator: torch.Generator | None = None, noise: bool = False
    ) -> Tensor:
        """(n, B, D) completions of partly observed x (B, D) under a mask condition: z ~
        p(z|x_observed), the unobserved part from p(x|z, x_observed) (its mean, or a draw with
        ``noise``), the observed part kept as it is."""
        cond = self.condition
        if cond is None or cond.scored() is None:
            raise ValueError("completing images needs a run trained with a mask condition")
        f = cond.features_of(x, x[..., :0])  # (B, D)
        p = self.prior.distribution(f)
        p = p.expand(x.shape[:1]) if p.batch_shape == () else p  # N(0, I): one per example
        zs = rsample(p, n, generator)  # (n, B, L)
        out = self.decoder_output(zs, f)
        filled = self.likelihood.sample(out, generator) if noise else self.likelihood.mean(out)
        return x * cond.observed + filled * cond.scored()

    @torch.no_grad()
    def reconstruct(self, rows: Tensor) -> Tensor:
        """Decoder mean at the posterior mean: (B, D[+P]) -> (B, D)."""
        _, f = self.parts(rows)
        return self.likelihood.mean(self.decoder_output(self.encode(rows).mean, f))

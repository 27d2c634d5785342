"""EvalConfig: the settings of an evaluation, once — the defaults of ``vaekit.evaluate``,
``log_likelihood`` and ``vaekit evaluate``, and the command's options."""

from __future__ import annotations

from dataclasses import dataclass

from ..configuration import Section, boolean, nonneg_int, positive_int, setting
from ..errors import ConfigError, opt


@dataclass
class EvalConfig(Section):
    importance_samples: int = setting(1000, check=nonneg_int, short="-k",
                                      help="Samples per example of the IS log p(x); 0 skips it.")  # fmt: skip
    repeats: int = setting(1, check=positive_int,
                           help="Independent IS estimates, for the estimator's standard error.")  # fmt: skip
    # Opt-in: the per-example refinement dominates the time of an evaluation (24 of 29 s on
    # digits at 100 steps), and only the gap split needs it.
    refine_steps: int = setting(0, check=nonneg_int, label="refine steps",
                                help="Gradient steps on each example's own q(z|x), for the "
                                "amortisation/approximation split of the gap (100 is a good "
                                "start); 0 skips it.")  # fmt: skip
    refined_proposal: bool = setting(False, check=boolean,
                                     help="Also estimate log p(x) with the refined q(z|x) as "
                                     "the IS proposal.")  # fmt: skip
    batch_size: int = setting(100, check=positive_int, label="batch size", user=False)
    elbo_batch_size: int = setting(1000, check=positive_int, label="ELBO batch size", user=False)
    seed: int = setting(0, check=nonneg_int, help="Seed of every draw of the evaluation.")

    def validate(self) -> None:
        if self.refined_proposal and self.refine_steps == 0:
            raise ConfigError(
                f"{opt('refined_proposal')} uses the refined q(z|x) as the proposal: give it "
                f"{opt('refine_steps', 'N')} too (100 is a good start)"
            )

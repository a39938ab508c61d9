"""The MCMC gate: every fit the book reports must pass it, or the build fails.

:func:`assert_converged` checks R-hat, bulk and tail effective sample size and divergences
with ArviZ, and raises :class:`ConvergenceError` naming the model and the failing statistic.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

RHAT_MAX = 1.01
ESS_MIN = 1000


@dataclass(frozen=True)
class Sampling:
    """How a model is sampled with PyMC's NUTS: one convention for every model.

    Chains run in parallel on at most as many processes as the machine has cores (results do
    not depend on it: each chain has its own seed). PyMC's own convergence checks are off (the gate below checks
    every fit), and so is the progress bar. ``compile_mode`` names a PyTensor backend
    (None: PyMC's default).
    """

    draws: int
    tune: int
    chains: int
    target_accept: float
    compile_mode: str | None = None

    def kwargs(self) -> dict:
        """Keyword arguments for ``pm.sample``."""
        out = dict(
            draws=self.draws,
            tune=self.tune,
            chains=self.chains,
            cores=max(1, min(self.chains, os.cpu_count() or 1)),
            target_accept=self.target_accept,
            progressbar=False,
            compute_convergence_checks=False,
        )
        if self.compile_mode is not None:
            out["compile_kwargs"] = {"mode": self.compile_mode}
        return out


class ConvergenceError(RuntimeError):
    """An MCMC fit failed the gate."""


@dataclass(frozen=True)
class GateReport:
    model: str
    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int

    @classmethod
    def from_dict(cls, values: dict) -> GateReport:
        return cls(
            str(values["model"]),
            float(values["max_rhat"]),
            float(values["min_ess_bulk"]),
            float(values["min_ess_tail"]),
            int(values["divergences"]),
        )

    def as_dict(self) -> dict:
        return {
            "model": self.model,
            "max_rhat": self.max_rhat,
            "min_ess_bulk": self.min_ess_bulk,
            "min_ess_tail": self.min_ess_tail,
            "divergences": self.divergences,
        }


def gate_report(idata, model: str, var_names=None) -> GateReport:
    import arviz as az  # imported when first needed: chapters that only read stored fits skip it

    # unrounded: az.summary rounds to two decimals by default, which would let R-hat 1.014 pass
    summary = az.summary(idata, var_names=var_names, kind="diagnostics", round_to="none")
    divergences = int(np.asarray(idata.sample_stats["diverging"]).sum()) if "diverging" in idata.sample_stats else 0
    return GateReport(
        model,
        float(summary["r_hat"].max()),
        float(summary["ess_bulk"].min()),
        float(summary["ess_tail"].min()),
        divergences,
    )


def assert_converged(
    idata, model: str, var_names=None, *, rhat_max: float = RHAT_MAX, ess_min: float = ESS_MIN
) -> GateReport:
    """Raise :class:`ConvergenceError` unless R-hat ≤ rhat_max, bulk and tail ESS ≥ ess_min and
    there are no divergences; return the report otherwise."""
    report = gate_report(idata, model, var_names)
    failures = []
    if not report.max_rhat <= rhat_max:
        failures.append(f"max R-hat {report.max_rhat:.4f} > {rhat_max}")
    if not report.min_ess_bulk >= ess_min:
        failures.append(f"min bulk ESS {report.min_ess_bulk:.0f} < {ess_min}")
    if not report.min_ess_tail >= ess_min:
        failures.append(f"min tail ESS {report.min_ess_tail:.0f} < {ess_min}")
    if report.divergences:
        failures.append(f"{report.divergences} divergent transitions")
    if failures:
        raise ConvergenceError(f"model {model!r} failed the MCMC gate: " + "; ".join(failures))
    return report


#: Predictive summaries compared between MCMC and the exact solution.
CROSSCHECK_PROBS = (0.025, 0.5, 0.975)
#: MCMC and the exact solution agree when they differ by at most this many Monte Carlo standard errors
CROSSCHECK_TOLERANCE_MCSE = 4.0
#: ... plus this absolute allowance for a quadrature grid's discretisation
CROSSCHECK_GRID_ALLOWANCE = 0.002

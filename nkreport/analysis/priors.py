"""Beta mixtures and what is done with them: the parametric MAP prior, effective sample size,
robustification, conjugate updating, prior-data conflict and power priors.

Closed forms wherever the Beta-binomial model allows them; numerical integration
(:mod:`scipy.integrate`) where it does not. Conventions follow RBesT (Weber et al. 2021):
a mixture is ``sum_k w_k Beta(a_k, b_k)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import integrate, optimize, special, stats

# --------------------------------------------------------------------------- Beta mixtures


@dataclass(frozen=True)
class BetaMixture:
    """``sum_k weights[k] * Beta(a[k], b[k])``; ``labels`` name the components (for display) and
    ``robust`` marks the components added by :func:`robustify` (for the informative weight)."""

    weights: tuple[float, ...]
    a: tuple[float, ...]
    b: tuple[float, ...]
    labels: tuple[str, ...] = field(default=())
    robust: tuple[bool, ...] = field(default=())

    def __post_init__(self):
        w = np.asarray(self.weights, dtype=float)
        a = np.asarray(self.a, dtype=float)
        b = np.asarray(self.b, dtype=float)
        if not (w.shape == a.shape == b.shape) or w.ndim != 1 or w.size == 0:
            raise ValueError("weights, a and b must be 1-D of equal length")
        if (w < 0).any() or not np.isclose(w.sum(), 1.0, atol=1e-9):
            raise ValueError(f"weights must be non-negative and sum to 1, got {w}")
        if (a <= 0).any() or (b <= 0).any():
            raise ValueError("Beta parameters must be positive")
        object.__setattr__(self, "weights", tuple(float(v) for v in w / w.sum()))
        object.__setattr__(self, "a", tuple(float(v) for v in a))
        object.__setattr__(self, "b", tuple(float(v) for v in b))
        labels = tuple(self.labels) if self.labels else tuple(f"component {k + 1}" for k in range(w.size))
        object.__setattr__(self, "labels", labels)
        robust = tuple(bool(r) for r in self.robust) if self.robust else (False,) * w.size
        if len(robust) != w.size:
            raise ValueError("robust must flag every component")
        object.__setattr__(self, "robust", robust)

    # -- construction
    @classmethod
    def beta(cls, a: float, b: float, label: str = "beta", robust: bool = False) -> "BetaMixture":
        return cls((1.0,), (a,), (b,), (label,), (robust,))

    @property
    def w_(self) -> np.ndarray:
        return np.asarray(self.weights)

    @property
    def a_(self) -> np.ndarray:
        return np.asarray(self.a)

    @property
    def b_(self) -> np.ndarray:
        return np.asarray(self.b)

    @property
    def n_components(self) -> int:
        return len(self.weights)

    # -- distribution functions
    def _component_logpdf(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=float)[..., None]
        return stats.beta.logpdf(x, self.a_, self.b_)

    def logpdf(self, x) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return special.logsumexp(self._component_logpdf(x) + np.log(self.w_), axis=-1)

    def pdf(self, x) -> np.ndarray:
        return np.exp(self.logpdf(x))

    def cdf(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=float)[..., None]
        return (self.w_ * stats.beta.cdf(x, self.a_, self.b_)).sum(axis=-1)

    def quantile(self, prob: float) -> float:
        return float(optimize.brentq(lambda x: self.cdf(x) - prob, 0.0, 1.0, xtol=1e-12))

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        tail = (1 - level) / 2
        return self.quantile(tail), self.quantile(1 - tail)

    def mean(self) -> float:
        return float((self.w_ * self.a_ / (self.a_ + self.b_)).sum())

    def var(self) -> float:
        a, b, w = self.a_, self.b_, self.w_
        second = a * (a + 1) / ((a + b) * (a + b + 1))
        return float((w * second).sum() - self.mean() ** 2)

    def sd(self) -> float:
        return float(np.sqrt(self.var()))

    def mode(self) -> float:
        """The highest point of the density (bounded search on a fine grid, then refined)."""
        grid = np.linspace(1e-6, 1 - 1e-6, 20001)
        start = grid[np.argmax(self.logpdf(grid))]
        low, high = max(start - 1e-4, 1e-9), min(start + 1e-4, 1 - 1e-9)
        res = optimize.minimize_scalar(lambda x: -self.logpdf(x), bounds=(low, high), method="bounded")
        return float(res.x)

    def sample(self, size: int, rng: np.random.Generator) -> np.ndarray:
        component = rng.choice(self.n_components, size=size, p=self.w_)
        return rng.beta(self.a_[component], self.b_[component])

    # -- data
    def predictive_pmf(self, events, n: int) -> np.ndarray:
        """Prior predictive (Beta-binomial mixture) probability of ``events`` in ``n``."""
        events = np.asarray(events)[..., None]
        return (self.w_ * stats.betabinom.pmf(events, n, self.a_, self.b_)).sum(axis=-1)

    def posterior(self, events: int, n: int) -> "BetaMixture":
        """Conjugate update with ``events`` of ``n``: each component is updated and its weight
        multiplied by its marginal likelihood B(a+y, b+n-y)/B(a, b) (the binomial
        coefficient is common to all components and cancels)."""
        a_post = self.a_ + events
        b_post = self.b_ + n - events
        with np.errstate(divide="ignore"):
            log_w = np.log(self.w_) + special.betaln(a_post, b_post) - special.betaln(self.a_, self.b_)
        weights = np.exp(log_w - special.logsumexp(log_w))
        return BetaMixture(tuple(weights), tuple(a_post), tuple(b_post), self.labels, self.robust)

    def describe(self, digits: int = 2) -> str:
        return " + ".join(
            f"{w:.{digits}f}·Beta({a:.{digits}f}, {b:.{digits}f})"
            for w, a, b in zip(self.weights, self.a, self.b, strict=False)
        )

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "component": self.labels,
                "weight": self.weights,
                "a": self.a,
                "b": self.b,
                "mean": self.a_ / (self.a_ + self.b_),
                "a + b": self.a_ + self.b_,
            }
        )


def mixture(*components: BetaMixture, weights) -> BetaMixture:
    """Combine mixtures with outer ``weights`` into one flat mixture."""
    w, a, b, labels, robust = [], [], [], [], []
    for outer, comp in zip(weights, components, strict=True):
        w += list(outer * comp.w_)
        a += list(comp.a)
        b += list(comp.b)
        labels += list(comp.labels)
        robust += list(comp.robust)
    return BetaMixture(tuple(w), tuple(a), tuple(b), tuple(labels), tuple(robust))


# --------------------------------------------------------------------------- EM fit to samples


def _beta_weighted_mle(
    mean_log_x: float, mean_log_1mx: float, start: tuple[float, float], min_shape: float = 0.0, steps: int = 20
) -> tuple[float, float]:
    """Maximise (a-1) E[log x] + (b-1) E[log(1-x)] - log B(a, b) over a, b > min_shape: Newton's
    method (the objective is concave; step halving keeps a, b positive), and a bounded
    L-BFGS search if the unconstrained optimum lies below ``min_shape``."""
    ab = np.asarray(start, dtype=float)
    target = np.array([mean_log_x, mean_log_1mx])
    for _ in range(steps):
        a, b = ab
        grad = target - special.digamma(ab) + special.digamma(a + b)
        trigamma_ab = special.polygamma(1, a + b)
        hessian = np.diag(-special.polygamma(1, ab)) + trigamma_ab
        step = np.linalg.solve(hessian, -grad)
        while (ab + step <= 0).any():
            step /= 2
        ab = ab + step
        if np.abs(step).max() < 1e-10 * ab.max():
            break
    if (ab < min_shape).any():

        def negative(log_ab):
            a, b = np.exp(log_ab)
            digamma_ab = special.digamma(a + b)
            value = -((a - 1) * mean_log_x + (b - 1) * mean_log_1mx - special.betaln(a, b))
            grad = -np.array(
                [
                    a * (mean_log_x - special.digamma(a) + digamma_ab),
                    b * (mean_log_1mx - special.digamma(b) + digamma_ab),
                ]
            )
            return value, grad

        start_ab = np.log(np.maximum(np.asarray(start, dtype=float), min_shape))
        res = optimize.minimize(negative, start_ab, jac=True, method="L-BFGS-B", bounds=[(np.log(min_shape), 12.0)] * 2)
        ab = np.exp(res.x)
    return float(ab[0]), float(ab[1])


def _polish(log_x, log_1mx, a, b, weights, min_shape: float = 0.0):
    """Finish EM (slow on flat likelihoods) by maximising the mixture log-likelihood directly
    over (log a, log b, weight logits) with L-BFGS and the analytic gradient."""
    k = a.size

    def unpack(params):
        logits = np.concatenate([[0.0], params[2 * k :]])
        return np.exp(params[:k]), np.exp(params[k : 2 * k]), np.exp(logits - special.logsumexp(logits))

    def negative(params):
        a, b, w = unpack(params)
        joint = np.outer(log_x, a - 1) + np.outer(log_1mx, b - 1) - special.betaln(a, b) + np.log(w)
        total = special.logsumexp(joint, axis=1)
        resp = np.exp(joint - total[:, None])
        digamma_ab = special.digamma(a + b)
        grad_a = a * (resp.T @ log_x - resp.sum(0) * (special.digamma(a) - digamma_ab))
        grad_b = b * (resp.T @ log_1mx - resp.sum(0) * (special.digamma(b) - digamma_ab))
        grad_logits = (resp - w).sum(0)[1:]
        return -total.sum(), -np.concatenate([grad_a, grad_b, grad_logits])

    start = np.concatenate(
        [
            np.log(np.maximum(a, max(min_shape, 1e-3))),
            np.log(np.maximum(b, max(min_shape, 1e-3))),
            np.log(weights[1:]) - np.log(weights[0]),
        ]
    )
    low = np.log(min_shape) if min_shape > 0 else -7.0
    bounds = [(low, 12.0)] * (2 * k) + [(-30.0, 30.0)] * (k - 1)
    res = optimize.minimize(
        negative,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-8},
    )
    if res.fun > negative(start)[0]:
        return a, b, weights
    return unpack(res.x)


def _moment_beta(mean: float, var: float) -> tuple[float, float]:
    total = max(mean * (1 - mean) / var - 1, 0.5)
    return mean * total, (1 - mean) * total


#: Smallest shape parameter of a fitted component. With a, b >= 1 every component has a bounded,
#: unimodal density and the ELIR ESS stays finite (it diverges if a component has a < 1 or b < 1).
MIN_SHAPE = 1.0


def fit_beta_mixture_em(
    samples, components: int, *, min_shape: float = MIN_SHAPE, max_iter: int = 60, tol: float = 1e-8
) -> tuple[BetaMixture, float]:
    """Maximum-likelihood Beta mixture with ``components`` components, by EM.

    Deterministic start: the sorted samples are split into equal parts and each part is
    moment-matched. The M-step maximises each component's weighted Beta likelihood, which
    depends on the data only through the weighted means of log x and log(1-x). Returns the
    mixture and its log-likelihood.
    """
    x = np.clip(np.asarray(samples, dtype=float).ravel(), 1e-10, 1 - 1e-10)
    log_x, log_1mx = np.log(x), np.log1p(-x)
    parts = np.array_split(np.argsort(x), components)
    a, b = np.array([_moment_beta(x[p].mean(), max(x[p].var(), 1e-8)) for p in parts]).T
    a, b = np.maximum(a, min_shape), np.maximum(b, min_shape)
    weights = np.array([len(p) for p in parts], dtype=float) / x.size

    def log_joint(a, b, weights):
        return np.outer(log_x, a - 1) + np.outer(log_1mx, b - 1) - special.betaln(a, b) + np.log(weights)

    previous = -np.inf
    for _ in range(max_iter):
        joint = log_joint(a, b, weights)
        total = special.logsumexp(joint, axis=1)
        loglik = float(total.sum())
        if abs(loglik - previous) < tol * abs(loglik):
            break
        previous = loglik
        resp = np.exp(joint - total[:, None])
        mass = resp.sum(axis=0)
        weights = mass / x.size
        mean_log_x = (resp.T @ log_x) / mass
        mean_log_1mx = (resp.T @ log_1mx) / mass
        a, b = np.array(
            [_beta_weighted_mle(mean_log_x[k], mean_log_1mx[k], (a[k], b[k]), min_shape) for k in range(components)]
        ).T
    a, b, weights = _polish(log_x, log_1mx, a, b, weights, min_shape)
    loglik = float(special.logsumexp(log_joint(a, b, weights), axis=1).sum())
    order = np.argsort(-weights)
    mix = BetaMixture(
        tuple(weights[order]),
        tuple(a[order]),
        tuple(b[order]),
        tuple(f"informative {k + 1}" for k in range(components)),
    )
    return mix, loglik


@dataclass
class MixtureFit:
    """The chosen mixture and the comparison of the candidates."""

    mixture: BetaMixture
    candidates: pd.DataFrame
    criterion: str


def fit_beta_mixture(
    samples, *, max_components: int = 3, criterion: str = "bic", min_shape: float = MIN_SHAPE
) -> MixtureFit:
    """Fit Beta mixtures with 1..max_components components by EM and keep the one with the
    smallest ``criterion`` (``'bic'`` or ``'aic'``). The approximation error of each candidate
    is the Kolmogorov-Smirnov distance (largest CDF difference) to the samples."""
    x = np.asarray(samples, dtype=float).ravel()
    rows, fits = [], []
    for k in range(1, max_components + 1):
        mix, loglik = fit_beta_mixture_em(x, k, min_shape=min_shape)
        n_params = 3 * k - 1
        rows.append(
            {
                "components": k,
                "log_likelihood": loglik,
                "aic": 2 * n_params - 2 * loglik,
                "bic": np.log(x.size) * n_params - 2 * loglik,
                "max_cdf_difference": float(stats.kstest(x, mix.cdf).statistic),
                "mixture": mix.describe(),
            }
        )
        fits.append(mix)
    table = pd.DataFrame(rows)
    best = int(table[criterion].idxmin())
    table["chosen"] = table.index == best
    return MixtureFit(fits[best], table, criterion)


def max_cdf_difference(mix: BetaMixture, reference_cdf, grid=None) -> float:
    """Largest |F_mix - F_ref| on a grid (e.g. against the quadrature MAP prior)."""
    grid = np.linspace(0.0005, 0.9995, 1000) if grid is None else np.asarray(grid)
    return float(np.max(np.abs(mix.cdf(grid) - np.asarray(reference_cdf(grid)))))


# --------------------------------------------------------------------------- effective sample size

#: ``morita``: Morita, Thall and Müller's definition, at the prior mean; ``morita_mode``: the same
#: evaluated at the prior mode, as RBesT does for mixtures.
ESS_METHODS = ("elir", "moment", "morita", "morita_mode")
#: Morita's constant: the epsilon-information prior is the prior with its ESS divided by this
#: (RBesT's default ``s = 100``).
MORITA_C = 100.0


def _score_terms(mix: BetaMixture, theta):
    """d/dθ log f and -d²/dθ² log f of the mixture density at θ (analytic)."""
    theta = np.asarray(theta, dtype=float)[..., None]
    a, b = mix.a_, mix.b_
    log_comp = stats.beta.logpdf(theta, a, b) + np.log(mix.w_)
    resp = np.exp(log_comp - special.logsumexp(log_comp, axis=-1, keepdims=True))
    u = (a - 1) / theta - (b - 1) / (1 - theta)
    du = -(a - 1) / theta**2 - (b - 1) / (1 - theta) ** 2
    first = (resp * u).sum(axis=-1)
    second = (resp * (u**2 + du)).sum(axis=-1)
    return first, -(second - first**2)


def observed_information(mix: BetaMixture, theta) -> np.ndarray:
    """-d²/dθ² log f(θ) of the mixture density."""
    return _score_terms(mix, theta)[1]


def ess_moment(mix: BetaMixture) -> float:
    """a + b of the Beta with the mixture's mean and variance."""
    mean, var = mix.mean(), mix.var()
    return float(mean * (1 - mean) / var - 1)


def _elir_integrand(mix: BetaMixture, logit: float) -> float:
    """f(θ) · i_prior(θ) / i_F(θ) · dθ/du at θ = expit(u), evaluated without under- or
    overflow: with t = θ, s = 1 - θ and v_k = (a_k - 1) s - (b_k - 1) t (the score times t s),
    i_prior(θ) (t s)² = (Σ r_k v_k)² - Σ r_k (v_k² - (a_k - 1) s² - (b_k - 1) t²)."""
    log_t, log_s = special.log_expit(logit), special.log_expit(-logit)
    t, s = np.exp(log_t), np.exp(log_s)
    a, b = mix.a_, mix.b_
    log_comp = (a - 1) * log_t + (b - 1) * log_s - special.betaln(a, b) + np.log(mix.w_)
    log_f = special.logsumexp(log_comp)
    resp = np.exp(log_comp - log_f)
    v = (a - 1) * s - (b - 1) * t
    info_scaled = (resp @ v) ** 2 - resp @ (v**2 - (a - 1) * s**2 - (b - 1) * t**2)
    return float(np.exp(log_f) * info_scaled)


#: Breakpoints of the ELIR integral on the logit scale (the tails beyond decay exponentially).
_ELIR_EDGES = (-400.0, -80.0, -30.0, -12.0, -6.0, -3.0, -1.5, 0.0, 1.5, 3.0, 6.0, 12.0, 30.0, 80.0, 400.0)


#: How the ELIR ESS treats a component with a shape exactly 1 (see :func:`ess_elir`).
ELIR_BOUNDARY_RULES = ("limit", "literal")


def ess_elir(mix: BetaMixture, *, boundary: str = "limit") -> float:
    r"""Expected local-information-ratio ESS (Neuenschwander et al. 2020).

    .. math:: \mathrm{ELIR} = E_{\text{prior}}\left[ i_{\text{prior}}(\theta) / i_F(\theta) \right],
              \quad i_F(\theta) = 1/(\theta(1-\theta)),\quad i_{\text{prior}} = -\frac{d^2}{d\theta^2}\log p(\theta)

    integrated on the logit scale, where the integrand is bounded (on the θ scale it has
    integrable singularities at 0 and 1 when a shape is near 1). For one Beta(a, b) with
    a, b > 1 it equals a + b.

    **The boundary a = 1 (or b = 1).** The term (a - 1)/θ² of the prior's information vanishes
    at a = 1, but for a → 1⁺ its expectation tends to w·b (w the component's weight), all of it
    from θ ever closer to 0: the integral jumps at the boundary (for Beta(1, 1) it is 0 at the
    boundary and 2 just above it). ``boundary='limit'`` (the default) returns the limit from
    inside the parameter space, adding w_k b_k for every component with a_k = 1 and w_k a_k for
    every component with b_k = 1, so that Beta(a, b) gives a + b also on the boundary and the
    value is continuous in the shapes; ``boundary='literal'`` returns the integral as it stands
    at the boundary (RBesT's numerical integral lands between the two).

    If a component has a shape below 1 its density is unbounded and the expected information
    ratio diverges: the ELIR ESS is then undefined and NaN is returned."""
    if boundary not in ELIR_BOUNDARY_RULES:
        raise ValueError(f"boundary must be one of {ELIR_BOUNDARY_RULES}, not {boundary!r}")
    if min(mix.a) < 1 or min(mix.b) < 1:
        return float("nan")
    value = error = 0.0
    for low, high in zip(_ELIR_EDGES[:-1], _ELIR_EDGES[1:], strict=False):
        part, part_error = integrate.quad(
            lambda u: _elir_integrand(mix, u), low, high, limit=200, epsabs=1e-11, epsrel=1e-10
        )
        value, error = value + part, error + part_error
    # beyond the outer edges each component behaves like w t^(a-1) / B(a, b) (resp. in 1 - t), and
    # the integrand like (a - 1) times it: the tails integrate in closed form (they matter only
    # for a shape within about 0.05 of 1; ELIR jumps at a = 1, where the term vanishes)
    a, b, w = mix.a_, mix.b_, mix.w_
    log_norm = np.log(w) - special.betaln(a, b)
    value += float(np.sum(np.exp(log_norm + (a - 1) * _ELIR_EDGES[0])[a > 1]))
    value += float(np.sum(np.exp(log_norm - (b - 1) * _ELIR_EDGES[-1])[b > 1]))
    if not error <= 1e-6 * max(abs(value), 1.0):
        raise ArithmeticError(f"ELIR integral inaccurate: {value} ± {error}")
    if boundary == "limit":
        value += float(np.sum((w * b)[a == 1]) + np.sum((w * a)[b == 1]))
    return float(value)


def elir_boundary_range(mix: BetaMixture) -> tuple[float, float]:
    """The ELIR ESS at the boundary as it stands and as the limit from inside (equal unless a
    component has a shape exactly 1): the range a reader should see when they differ."""
    return ess_elir(mix, boundary="literal"), ess_elir(mix, boundary="limit")


def ess_morita(mix: BetaMixture, *, at: str = "mean", c: float = MORITA_C) -> float:
    """Morita, Thall and Müller (2008) ESS, solved in closed form for a continuous m.

    D_p = -d²/dθ² log p(θ̄) of the prior at θ̄ (``at='mean'``: Morita's definition;
    ``at='mode'``: RBesT's choice for mixtures). The ε-information prior q0 is Beta with the
    prior's mean μ and ESS (moment) divided by ``c``; after m observations its expected
    information at θ̄ (expectation over the prior predictive, E[Y] = mμ) is
    ((α0 + mμ - 1)/θ̄² + (β0 + m(1-μ) - 1)/(1-θ̄)²), which is linear in m: m solves D_p = D_q(m).
    For Beta(a, b) at the mean this gives (a + b)(1 - 1/c), i.e. approximately a + b.
    """
    mu = mix.mean()
    total0 = ess_moment(mix) / c
    alpha0, beta0 = mu * total0, (1 - mu) * total0
    theta = mu if at == "mean" else mix.mode()
    d_prior = float(observed_information(mix, theta))
    intercept = (alpha0 - 1) / theta**2 + (beta0 - 1) / (1 - theta) ** 2
    slope = mu / theta**2 + (1 - mu) / (1 - theta) ** 2
    return float((d_prior - intercept) / slope)


def ess(mix: BetaMixture, method: str = "elir") -> float:
    if method == "elir":
        return ess_elir(mix)
    if method == "moment":
        return ess_moment(mix)
    if method == "morita":
        return ess_morita(mix)
    if method == "morita_mode":
        return ess_morita(mix, at="mode")
    raise ValueError(f"unknown ESS method {method!r}; choose from {ESS_METHODS}")


def ess_table(mixtures: dict[str, BetaMixture]) -> pd.DataFrame:
    rows = [{"prior": name, **{method: ess(mix, method) for method in ESS_METHODS}} for name, mix in mixtures.items()]
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- robustification and conflict

#: The robust component: the uniform Beta(1, 1) (ESS 2 as the ELIR limit, mean 1/2).
ROBUST_COMPONENT = BetaMixture.beta(1.0, 1.0, "robust Beta(1, 1)", robust=True)
#: Prior weight of the robust component in the book's robust MAP priors (Schmidli et al. 2014
#: use 0.1 to 0.5).
ROBUST_WEIGHT = 0.2
#: Robust weights over which the posterior weight of the informative part is traced.
ROBUST_WEIGHT_GRID = np.linspace(0.0, 1.0, 51)


def unit_information_beta(mean: float) -> BetaMixture:
    """Beta with the given mean and ESS 1: Beta(mean, 1 - mean)."""
    return BetaMixture.beta(mean, 1 - mean, f"unit-information Beta({mean:.2f}, {1 - mean:.2f})")


def robustify(informative: BetaMixture, weight: float, robust: BetaMixture = ROBUST_COMPONENT) -> BetaMixture:
    """(1 - weight) · informative + weight · robust (Schmidli et al. 2014); the components of
    ``robust`` are flagged as robust whatever their labels."""
    if not 0 <= weight <= 1:
        raise ValueError("robust weight must lie in [0, 1]")
    robust = replace(robust, robust=(True,) * robust.n_components)
    if weight == 0:
        return informative
    if weight == 1:
        return robust
    return mixture(informative, robust, weights=(1 - weight, weight))


def informative_weight(mix: BetaMixture) -> float:
    """Total weight of the components not flagged robust."""
    return float(sum(w for w, robust in zip(mix.weights, mix.robust, strict=True) if not robust))


def posterior_informative_weight(
    informative: BetaMixture, events: int, n: int, robust_weights, robust: BetaMixture = ROBUST_COMPONENT
) -> pd.DataFrame:
    """For each prior robust weight, the posterior weight of the informative part and the
    posterior mean and 95 % interval (the conflict measure of Schmidli et al. 2014)."""
    rows = []
    for weight in robust_weights:
        post = robustify(informative, float(weight), robust).posterior(events, n)
        low, high = post.interval()
        rows.append(
            {
                "robust_weight": float(weight),
                "posterior_informative_weight": informative_weight(post),
                "posterior_mean": post.mean(),
                "low": low,
                "high": high,
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class BoxCheck:
    events: int
    n: int
    box_p: float  # P(pmf(Y) <= pmf(y_obs)) under the prior predictive (Box 1980)
    upper_tail_p: float  # P(Y >= y_obs)


def box_p_from_pmf(pmf, events: int) -> float:
    r"""Box's (1980) prior-predictive p-value of ``events`` from the predictive probabilities
    ``pmf`` of 0, 1, ..., n events: :math:`p = \sum_{y:\, f(y) \le f(y_{obs})} f(y)`, the
    probability of an outcome no more probable than the one observed (ties within a relative
    1e-9 count as equally probable)."""
    pmf = np.asarray(pmf, dtype=float)
    return float(pmf[pmf <= pmf[events] * (1 + 1e-9)].sum())


def box_p_value(prior: BetaMixture, events: int, n: int) -> BoxCheck:
    """Prior-predictive check of ``events`` of ``n`` under a Beta-mixture prior (Box 1980)."""
    pmf = prior.predictive_pmf(np.arange(n + 1), n)
    return BoxCheck(int(events), int(n), box_p_from_pmf(pmf, events), float(pmf[events:].sum()))


# --------------------------------------------------------------------------- power priors

#: The initial prior of the power prior (before any historical data): uniform.
POWER_INITIAL = (1.0, 1.0)
#: The power prior's fixed weight of the earlier arms, and the grid of weights traced.
FIXED_A0 = 0.5
A0_GRID = np.linspace(0.0, 1.0, 41)
#: Operating characteristics: success when P(risk < rate without NK) reaches this level ...
OC_LEVEL = 0.95
#: ... evaluated, besides 10 % and the untreated rate, at this true risk (well below the untreated arms' rate).
OC_SCENARIO = 0.2


def power_prior(historical_events, historical_n, a0: float, initial=POWER_INITIAL) -> BetaMixture:
    """Fixed-a0 power prior: initial Beta × (historical likelihood)^a0 = Beta(a + a0 Σy, b + a0 Σ(n-y)).
    All historical studies share one a0 (a0 = 1: full pooling; a0 = 0: the initial prior)."""
    if not 0 <= a0 <= 1:
        raise ValueError("a0 must lie in [0, 1]")
    events = float(np.sum(historical_events))
    failures = float(np.sum(np.asarray(historical_n) - np.asarray(historical_events)))
    return BetaMixture.beta(initial[0] + a0 * events, initial[1] + a0 * failures, f"power prior a0={a0:g}")


def power_prior_sweep(
    historical_events, historical_n, events: int, n: int, a0_grid, initial=POWER_INITIAL
) -> pd.DataFrame:
    """Posterior mean and 95 % interval of the risk after the trial, for each a0."""
    rows = []
    for a0 in a0_grid:
        prior = power_prior(historical_events, historical_n, float(a0), initial)
        post = prior.posterior(events, n)
        low, high = post.interval()
        rows.append(
            {
                "a0": float(a0),
                "prior_mean": prior.mean(),
                "prior_ess": prior.a[0] + prior.b[0],
                "posterior_mean": post.mean(),
                "low": low,
                "high": high,
            }
        )
    return pd.DataFrame(rows)


@dataclass
class NormalizedPowerPrior:
    """Posterior of the normalized power prior (Duan et al. 2006) with a0 ~ Beta(a0_shape)."""

    log_density_a0: callable  # unnormalised log posterior density of a0
    normaliser: float
    historical: tuple[float, float]
    data: tuple[int, int]
    initial: tuple[float, float]

    def a0_pdf(self, a0) -> np.ndarray:
        return np.exp(np.vectorize(self.log_density_a0)(a0)) / self.normaliser

    def a0_mean(self) -> float:
        return integrate.quad(lambda a0: a0 * self.a0_pdf(a0), 0, 1, epsabs=1e-12)[0]

    def risk_mean(self) -> float:
        def conditional_mean(a0):
            a, b = self._posterior_ab(a0)
            return a / (a + b)

        return integrate.quad(lambda a0: conditional_mean(a0) * self.a0_pdf(a0), 0, 1, epsabs=1e-12)[0]

    def risk_cdf(self, risk: float) -> float:
        return integrate.quad(
            lambda a0: stats.beta.cdf(risk, *self._posterior_ab(a0)) * self.a0_pdf(a0), 0, 1, epsabs=1e-12
        )[0]

    def risk_quantile(self, prob: float) -> float:
        return float(optimize.brentq(lambda x: self.risk_cdf(x) - prob, 1e-9, 1 - 1e-9, xtol=1e-10))

    def _posterior_ab(self, a0):
        (hy, hf), (y, n), (a, b) = self.historical, self.data, self.initial
        return a + a0 * hy + y, b + a0 * hf + n - y


def normalized_power_prior(
    historical_events, historical_n, events: int, n: int, *, a0_prior=(1.0, 1.0), initial=POWER_INITIAL
) -> NormalizedPowerPrior:
    """Joint posterior of (θ, a0) under the normalized power prior; θ is integrated out in closed
    form, so p(a0 | data) ∝ π(a0) B(a + a0 y0 + y, b + a0 f0 + n - y) / B(a + a0 y0, b + a0 f0),
    normalised by a 1-D integral (scipy.integrate.quad)."""
    hy = float(np.sum(historical_events))
    hf = float(np.sum(np.asarray(historical_n) - np.asarray(historical_events)))
    a, b = initial

    def log_density(a0: float) -> float:
        return (
            stats.beta.logpdf(a0, *a0_prior)
            + special.betaln(a + a0 * hy + events, b + a0 * hf + n - events)
            - special.betaln(a + a0 * hy, b + a0 * hf)
        )

    normaliser = integrate.quad(lambda a0: np.exp(log_density(a0)), 0, 1, epsabs=1e-14)[0]
    return NormalizedPowerPrior(log_density, normaliser, (hy, hf), (int(events), int(n)), tuple(initial))


# --------------------------------------------------------------------------- analysis of the trial


def update_table(
    prior_set: dict[str, BetaMixture], events: int, n: int, threshold: float | None = None
) -> pd.DataFrame:
    """Each prior and its posterior after ``events`` of ``n``: prior mean and ELIR ESS, posterior
    mean and 95 % interval, posterior weight of the informative part, and P(risk < threshold)."""
    rows = []
    for name, prior in prior_set.items():
        post = prior.posterior(events, n)
        low, high = post.interval()
        row = {
            "prior": name,
            "prior_mean": prior.mean(),
            "prior_ess": ess_elir(prior),
            "posterior_mean": post.mean(),
            "low": low,
            "high": high,
            "prior_informative_weight": informative_weight(prior),
            "posterior_informative_weight": informative_weight(post),
        }
        if threshold is not None:
            row["p_below_threshold"] = float(post.cdf(threshold))
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- operating characteristics


def success_counts(prior: BetaMixture, n: int, threshold: float, level: float = 0.95) -> np.ndarray:
    """For y = 0..n events, whether the posterior gives P(risk < threshold | y) >= level."""
    return np.array([prior.posterior(y, n).cdf(threshold) >= level for y in range(n + 1)])


def operating_characteristics(
    prior_set: dict[str, BetaMixture], n: int, threshold: float, true_risks, level: float = 0.95
) -> pd.DataFrame:
    """Probability of declaring the risk below ``threshold`` (posterior probability >= level)
    in a trial of ``n`` patients, for each prior and true risk: exact binomial sums over the
    outcomes. At a true risk equal to the threshold this is the type I error."""
    rows = []
    for name, prior in prior_set.items():
        success = success_counts(prior, n, threshold, level)
        outcomes = np.arange(n + 1)
        row = {"prior": name, "max_successful_events": int(outcomes[success].max()) if success.any() else -1}
        for risk in true_risks:
            row[float(risk)] = float(stats.binom.pmf(outcomes, n, risk)[success].sum())
        rows.append(row)
    return pd.DataFrame(rows)

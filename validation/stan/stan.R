# The comparative model written independently in Stan (comparative.stan), sampled with rstan on
# the book's arms (../inputs.json): pooled log odds ratio, the trial's implied log odds ratio,
# P(OR < 1) and tau, each with its Monte Carlo standard error (rstan's se_mean).
source("../common.R")
suppressPackageStartupMessages(library(rstan))
inputs <- read_inputs()
arms <- inputs$comparative_arms
priors <- inputs$comparative_priors
standata <- list(
  S = max(arms$study_index), A = length(arms$n), study = arms$study_index, treated = arms$treated,
  n = arms$n, events = arms$events, trial = arms$trial_study_index,
  baseline_prior_mean = priors$baseline_prior_mean, baseline_prior_sd = priors$baseline_prior_sd,
  baseline_sd_scale = priors$baseline_sd_scale, effect_prior_sd = priors$effect_prior_sd,
  tau_scale = priors$tau_scale
)
# Debian's r-cran-bh has no include/ folder: Boost is in /usr/include
model <- stan_model("comparative.stan", boost_lib = "/usr/include")
fit <- sampling(model, data = standata, chains = 4, iter = 12500, warmup = 2500, seed = 20260101,
                control = list(adapt_delta = 0.99), refresh = 0)
s <- summary(fit, pars = c("pooled_log_or", "trial_log_or", "p_or_below_1", "tau"))$summary
stopifnot(all(s[, "Rhat"] < 1.01), get_num_divergent(fit) == 0)
labels <- c(pooled_log_or = "comparative model (Stan): posterior mean of the pooled log OR",
            trial_log_or = "comparative model (Stan): posterior mean of the trial's log OR",
            p_or_below_1 = "comparative model (Stan): P(pooled OR < 1)",
            tau = "comparative model (Stan): posterior mean of tau")
for (name in names(labels)) {
  pin(paste0("stan.", name), labels[[name]], s[name, "mean"], peer_mcse = s[name, "se_mean"])
}
write_reference("rstan", pkg_version("rstan"), "stan.R", inputs)

# RBesT on the book's MAP prior for BSI (the Beta mixture chapter 7 uses, from ../inputs.json)
# and the trial's 6/19: conjugate posteriors, robustification, Box's prior-predictive p-value,
# ESS, operating characteristics; RBesT's gMAP (Stan) on the earlier studies and on RBesT's
# documented example AS; the power prior's posterior with R's qbeta.
source("../common.R")
suppressPackageStartupMessages(library(RBesT))
inputs <- read_inputs()
set.seed(20260101)
version <- pkg_version("RBesT")
rversion <- paste(R.version$major, R.version$minor, sep = ".")

m <- inputs$map_mixture
map <- do.call(mixbeta, lapply(seq_along(m$w), function(k) c(m$w[k], m$a[k], m$b[k])))
robust <- robustify(map, weight = inputs$robust_weight, mean = 0.5)  # adds Beta(1, 1) (n = 1)
y <- inputs$bsi_trial$events; n <- inputs$bsi_trial$n
rate <- inputs$untreated$events / inputs$untreated$n
failures <- list()
informative_weight <- function(mix) sum(mix[1, colnames(mix) != "robust"])
box_p <- function(mix) {
  pmf <- dmix(preddist(mix, n = n), 0:n)
  sum(pmf[pmf <= pmf[y + 1] * (1 + 1e-9)])
}

for (prior in list(list("map", map, "MAP prior"), list("robust", robust, "robust MAP prior"))) {
  tag <- prior[[1]]; mix <- prior[[2]]; label <- prior[[3]]
  post <- postmix(mix, r = y, n = n)
  pin(paste0("rbest.", tag, "_prior_mean"), paste0(label, ": mean"), summary(mix)[["mean"]])
  pin(paste0("rbest.", tag, "_prior_sd"), paste0(label, ": SD"), summary(mix)[["sd"]])
  pin(paste0("rbest.", tag, "_posterior_mean"), sprintf("%s, posterior after %d/%d: mean", label, y, n), summary(post)[["mean"]])
  pin(paste0("rbest.", tag, "_posterior_sd"), sprintf("%s, posterior after %d/%d: SD", label, y, n), summary(post)[["sd"]])
  pin(paste0("rbest.", tag, "_posterior_cdf_untreated"),
      sprintf("%s, posterior: P(risk < untreated rate %.3f)", label, rate), pmix(post, rate))
  pin(paste0("rbest.box_p_", tag), sprintf("%s: Box prior-predictive p of %d/%d", label, y, n), box_p(mix))
  pin(paste0("rbest.ess_moment_", tag), paste0(label, ": ESS (moment)"), ess(mix, method = "moment"))
  # RBesT's mode (optimise at tolerance .Machine$double.eps^0.25); its Morita ESS is evaluated there
  mode <- as.numeric(RBesT:::mixmode(mix))
  pin(paste0("rbest.mode_", tag), paste0(label, ": mode"), mode)
  pin(paste0("rbest.ess_morita_mode_", tag), paste0(label, ": ESS (Morita, at the mode)"), ess(mix, method = "morita"),
      peer_mode = mode)
  # RBesT 1.6's ELIR integral can stop with "the integral is probably divergent": recorded, not pinned
  elir <- tryCatch(ess(mix, method = "elir"), error = function(e) e)
  if (inherits(elir, "error")) {
    failures[[length(failures) + 1]] <- list(id = paste0("rbest.ess_elir_", tag), quantity = paste0(label, ": ESS (ELIR)"),
                                             error = conditionMessage(elir))
  } else {
    pin(paste0("rbest.ess_elir_", tag), paste0(label, ": ESS (ELIR)"), elir)
  }
  decision <- decision1S(inputs$oc_level, rate, lower.tail = TRUE)
  oc <- oc1S(mix, inputs$planned_n, decision)
  risks <- c(inputs$oc_risks, rate)
  names <- c("at_10", "at_scenario", "at_untreated")
  for (k in seq_along(risks)) {
    pin(sprintf("rbest.oc_%s_%s", tag, names[k]),
        sprintf("%s: P(success) in %d patients at true risk %.3f", label, inputs$planned_n, risks[k]), oc(risks[k]))
  }
}
# ELIR of single Beta distributions, where the closed form is a + b (Neuenschwander et al. 2020):
# RBesT 1.6's integral is right far from a shape of 1 and wrong just above it
for (shapes in list(c(3, 7), c(1.3, 6.2), c(1.0622777027284078, 6.176940458776661))) {
  pin(sprintf("rbest.ess_elir_beta_%g_%g", shapes[1], shapes[2]), sprintf("Beta(%g, %g): ESS (ELIR)", shapes[1], shapes[2]),
      ess(mixbeta(c(1, shapes[1], shapes[2])), method = "elir"), a = shapes[1], b = shapes[2])
}
post <- postmix(robust, r = y, n = n)
pin("rbest.robust_posterior_informative_weight", "robust MAP prior, posterior: weight of the informative part",
    informative_weight(post))
pin("rbest.predictive_pmf_observed", sprintf("MAP prior: predictive probability of %d/%d", y, n),
    dmix(preddist(map, n = n), y))

# power prior (fixed a0): Beta posterior quantiles with R's qbeta
e <- inputs$bsi_earlier
a <- inputs$power_initial[1] + inputs$fixed_a0 * sum(e$events) + y
b <- inputs$power_initial[2] + inputs$fixed_a0 * sum(e$n - e$events) + n - y
pin("rbest.power_prior_posterior_mean", "power prior (a0 fixed), posterior mean", a / (a + b), tool = "R stats", version = rversion)
pin("rbest.power_prior_posterior_low", "power prior (a0 fixed), posterior 2.5 % quantile", qbeta(0.025, a, b),
    tool = "R stats", version = rversion)
pin("rbest.power_prior_posterior_high", "power prior (a0 fixed), posterior 97.5 % quantile", qbeta(0.975, a, b),
    tool = "R stats", version = rversion)

# gMAP (MCMC) against nkreport's exact quadrature of the same model
fit_map <- function(events, size) {
  df <- data.frame(study = seq_along(events), r = events, n = size)
  fit <- gMAP(cbind(r, n - r) ~ 1 | study, data = df, family = binomial, tau.dist = "HalfNormal",
              tau.prior = inputs$map_tau_scale, beta.prior = cbind(0, inputs$map_mu_sd),
              iter = 40000, warmup = 5000, chains = 4, thin = 1)
  s <- rstan::summary(fit$fit, pars = c("theta_resp_pred", "tau"))$summary
  list(s = s, draws = rstan::extract(fit$fit, pars = "theta_resp_pred")$theta_resp_pred)
}
median_mcse <- function(draws) {
  # batch means of the indicator at the median, delta method
  med <- median(draws); batches <- matrix(draws[seq_len(100 * floor(length(draws) / 100))], ncol = 100)
  ind <- colMeans(batches <= med); se_p <- sd(ind) / sqrt(100)
  dens <- density(draws, from = med, to = med, n = 1)$y
  se_p / dens
}
book <- fit_map(e$events, e$n)
pin("rbest.map_quadrature_mean", "MAP prior (gMAP): predictive mean", book$s["theta_resp_pred", "mean"],
    peer_mcse = book$s["theta_resp_pred", "se_mean"])
pin("rbest.map_quadrature_median", "MAP prior (gMAP): predictive median", median(book$draws),
    peer_mcse = median_mcse(book$draws))
pin("rbest.map_quadrature_tau_mean", "MAP model (gMAP): posterior mean of tau", book$s[grep("^tau", rownames(book$s)), "mean"],
    peer_mcse = book$s[grep("^tau", rownames(book$s)), "se_mean"])
data(AS)
as_example <- list(events = AS$r, n = AS$n, tau_scale = 1, mu_sd = 2)
old <- inputs
inputs$map_tau_scale <- 1; inputs$map_mu_sd <- 2
as_fit <- fit_map(AS$r, AS$n)
inputs <- old
pin("rbest.example_as_map_mean", "RBesT example AS: MAP predictive mean (HalfNormal(1), Normal(0, 2))",
    as_fit$s["theta_resp_pred", "mean"], peer_mcse = as_fit$s["theta_resp_pred", "se_mean"], example = as_example)
pin("rbest.example_as_map_tau_mean", "RBesT example AS: posterior mean of tau",
    as_fit$s[grep("^tau", rownames(as_fit$s)), "mean"], peer_mcse = as_fit$s[grep("^tau", rownames(as_fit$s)), "se_mean"],
    example = as_example)

write_reference("RBesT", version, "rbest.R", inputs, failures)

// The comparative model of nkreport.analysis.comparative (main setting: the trial's baseline
// exchangeable with the untreated arms, no window term, no bias term), written independently
// in Stan (syntax of Stan 2.21, the version Debian 12's rstan ships). Arm a of study s has logit p = baseline_s + treated_a * effect_s with
// baseline_s = m + sigma * z_s and effect_s = d + tau * u_s (non-centred).
data {
  int<lower=1> S;                        // studies (earlier comparative ones and the trial)
  int<lower=1> A;                        // arms
  int<lower=1, upper=S> study[A];
  int<lower=0, upper=1> treated[A];
  int<lower=0> n[A];
  int<lower=0> events[A];
  int<lower=1, upper=S> trial;           // the single-arm trial's study
  real baseline_prior_mean;
  real<lower=0> baseline_prior_sd;
  real<lower=0> baseline_sd_scale;
  real<lower=0> effect_prior_sd;
  real<lower=0> tau_scale;
}
parameters {
  real m;
  real<lower=0> sigma;
  vector[S] z;
  real d;
  real<lower=0> tau_raw;
  vector[S] u;
}
transformed parameters {
  real<lower=0> tau = tau_scale * tau_raw;
  vector[S] baseline = m + sigma * z;
  vector[S] effect = d + tau * u;
}
model {
  m ~ normal(baseline_prior_mean, baseline_prior_sd);
  sigma ~ normal(0, baseline_sd_scale);
  z ~ std_normal();
  d ~ normal(0, effect_prior_sd);
  tau_raw ~ std_normal();
  u ~ std_normal();
  for (a in 1:A)
    events[a] ~ binomial_logit(n[a], baseline[study[a]] + treated[a] * effect[study[a]]);
}
generated quantities {
  real pooled_log_or = d;
  real trial_log_or = effect[trial];
  real p_or_below_1 = d < 0;
}

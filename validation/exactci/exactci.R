# exactci (one-sample exact intervals and tests) and exact2x2 (Fisher and Boschloo) on the
# trial's BSI count and the earlier untreated arms.
source("../common.R")
suppressPackageStartupMessages({library(exactci); library(exact2x2)})
inputs <- read_inputs()
# the defaults stop the interval roots at 1e-5 and search Boschloo's nuisance parameter on 100
# points; both are tightened so that the comparison measures the methods, not the defaults
tight <- exactci:::binomControl(tol = 1e-12)
fine <- ucControl(nPgrid = 20000)

arm_labels <- c(bsi_trial = "trial, BSI", rejection_trial = "trial, acute rejection")
for (arm in names(arm_labels)) {
  x <- inputs[[arm]]$events; n <- inputs[[arm]]$n
  cp <- binom.exact(x, n, tsmethod = "central", control = tight)$conf.int
  mid <- binom.exact(x, n, tsmethod = "central", midp = TRUE, control = tight)$conf.int
  for (side in 1:2) {
    name <- c("low", "high")[side]
    pin(sprintf("exactci.clopper_pearson.%s[%s]", name, arm), sprintf("%s %d/%d: Clopper-Pearson %s", arm_labels[[arm]], x, n, name),
        cp[side], arm = arm, tool = "exactci", version = pkg_version("exactci"))
    pin(sprintf("exactci.mid_p.%s[%s]", name, arm), sprintf("%s %d/%d: mid-p %s", arm_labels[[arm]], x, n, name),
        mid[side], arm = arm, tool = "exactci", version = pkg_version("exactci"))
    # exactci's mid-p limits come from uniroot at its default tolerance (about 1e-4); the same
    # defining equations solved to 1e-14 with R's pbinom/dbinom
    tail <- if (side == 1) function(p) pbinom(x - 1, n, p, lower.tail = FALSE) - 0.5 * dbinom(x, n, p) - 0.025 else
      function(p) pbinom(x, n, p) - 0.5 * dbinom(x, n, p) - 0.025
    pin(sprintf("exactci.mid_p_tight.%s[%s]", name, arm), sprintf("%s %d/%d: mid-p %s (R uniroot, tol 1e-14)", arm_labels[[arm]], x, n, name),
        uniroot(tail, c(1e-12, 1 - 1e-12), tol = 1e-14)$root, arm = arm, tool = "R stats",
        version = paste(R.version$major, R.version$minor, sep = "."))
  }
}
x <- inputs$bsi_trial$events; n <- inputs$bsi_trial$n
rate <- inputs$untreated$events / inputs$untreated$n
pin("exactci.binomial_p_lower[untreated rate]", sprintf("trial %d/%d below the pooled untreated rate: one-sided p", x, n),
    binom.exact(x, n, p = rate, alternative = "less")$p.value, rate = rate,
    tool = "exactci", version = pkg_version("exactci"))

arms <- inputs$untreated_arms
version2 <- pkg_version("exact2x2")
for (k in seq_along(arms$study)) {
  ce <- arms$events[k]; cn <- arms$n[k]
  label <- sprintf("trial %d/%d vs %s %d/%d", x, n, arms$study[k], ce, cn)
  table <- matrix(c(x, n - x, ce, cn - ce), 2)
  pin(sprintf("exact2x2.fisher_p[%s]", arms$study[k]), paste0(label, ": Fisher two-sided p (minlike)"),
      exact2x2(table, tsmethod = "minlike")$p.value, control = arms$study[k], tool = "exact2x2", version = version2)
  pin(sprintf("exact2x2.fisher_p_lower[%s]", arms$study[k]), paste0(label, ": Fisher one-sided p, trial lower"),
      exact2x2(table, alternative = "less")$p.value, control = arms$study[k], tool = "exact2x2", version = version2)
  # exact2x2 orients Boschloo's alternative as p2 - p1: "greater" is p2 > p1, the trial (sample 1) lower
  pin(sprintf("exact2x2.boschloo_p_lower[%s]", arms$study[k]), paste0(label, ": Boschloo one-sided p, trial lower"),
      boschloo(x, n, ce, cn, alternative = "greater", control = fine)$p.value, control = arms$study[k], tool = "exact2x2",
      version = version2, note = "exact2x2 orients the alternative as p2 - p1: its 'greater' is the trial lower")
  pin(sprintf("exact2x2.boschloo_p[%s]", arms$study[k]), paste0(label, ": Boschloo two-sided p (central)"),
      boschloo(x, n, ce, cn, tsmethod = "central", control = fine)$p.value, control = arms$study[k], tool = "exact2x2",
      version = version2)
}
write_reference("exactci and exact2x2", pkg_version("exactci"), "exactci.R", inputs)

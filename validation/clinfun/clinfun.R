# clinfun's ph2simon on every Simon design case of chapter 5 (null and target BSI rates within
# the planned size's band), as responses: pu = 1 - p0, pa = 1 - p1.
source("../common.R")
suppressPackageStartupMessages(library(clinfun))
inputs <- read_inputs()

failures <- list()
cases <- inputs$simon_cases
for (i in seq_len(nrow(cases))) {
  case <- as.list(cases[i, ])
  label <- sprintf("p0=%g, p1=%g, alpha=%g, power=%g", case$p0, case$p1, case$alpha_target, case$power_target)
  found <- tryCatch(
    ph2simon(1 - case$p0, 1 - case$p1, case$alpha_target, 1 - case$power_target, nmax = inputs$simon_n_max),
    error = function(e) e
  )
  if (inherits(found, "error")) {
    failures[[length(failures) + 1]] <- list(case = case, error = conditionMessage(found))
    next
  }
  out <- found$out
  # clinfun's print method: optimal = first row of least EN(p0); minimax = the first row
  rows <- list(optimal = which(out[, 5] == min(out[, 5]))[1], minimax = 1)
  for (kind in names(rows)) {
    row <- out[rows[[kind]], ]
    fields <- c(r1 = "r1", n1 = "n1", r = "r", n = "n", en0 = "EN(p0)", pet0 = "PET(p0)")
    for (field in names(fields)) {
      pin(sprintf("clinfun.simon.%s[%s, %s]", field, label, kind),
          sprintf("Simon %s design (%s): %s", kind, label, fields[[field]]),
          as.numeric(row[[fields[[field]]]]), case = case, kind = kind)
    }
  }
}
write_reference("clinfun", pkg_version("clinfun"), "clinfun.R", inputs, failures)

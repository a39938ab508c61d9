# cmprsk's cuminc (Aalen-Johansen cumulative incidence with a competing risk) on the book's
# SIMULATED patient-level example, coded by nkreport (0 censored, 1 BSI, 2 death before BSI).
source("../common.R")
suppressPackageStartupMessages(library(cmprsk))
inputs <- read_inputs()

ipd <- inputs$simulated_ipd
fit <- cuminc(ftime = ipd$time, fstatus = ipd$event, cencode = 0)
at <- timepoints(fit, inputs$incidence_days)$est
for (k in seq_along(inputs$incidence_days)) {
  day <- inputs$incidence_days[k]
  pin(paste0("cmprsk.cif_day_", day), paste0("SIMULATED example: cumulative incidence of BSI at day ", day),
      as.numeric(at["1 1", k]))
}
write_reference("cmprsk", pkg_version("cmprsk"), "cmprsk.R", inputs)

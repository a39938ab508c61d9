# metafor on the book's comparative studies (log odds ratios of NK-treated vs untreated arms)
# and on metafor's documented example dat.bcg (log risk ratios): DerSimonian-Laird, REML, Peto.
source("../common.R")
suppressPackageStartupMessages(library(metafor))
inputs <- read_inputs()

pool <- function(source, yi, vi, tables, example = NULL) {
  tag <- function(x) paste0("metafor.", source, ".", x)
  extra <- if (is.null(example)) list() else list(example = example)
  dl <- rma(yi, vi, method = "DL")
  reml <- rma(yi, vi, method = "REML", control = list(threshold = 1e-12, maxiter = 10000))
  peto <- rma.peto(ai = tables[, 1], n1i = tables[, 2], ci = tables[, 3], n2i = tables[, 4])
  for (fit in list(list("dl", dl, "DerSimonian-Laird"), list("reml", reml, "REML"))) {
    do.call(pin, c(list(tag(paste0(fit[[1]], ".tau2")), paste(source, fit[[3]], "tau^2"), fit[[2]]$tau2), extra))
    do.call(pin, c(list(tag(paste0(fit[[1]], ".log_or")), paste(source, fit[[3]], "pooled log effect"),
                        as.numeric(fit[[2]]$b)), extra))
    do.call(pin, c(list(tag(paste0(fit[[1]], ".se")), paste(source, fit[[3]], "standard error"), fit[[2]]$se), extra))
  }
  do.call(pin, c(list(tag("peto.log_or"), paste(source, "Peto pooled log odds ratio"), as.numeric(peto$b)), extra))
  do.call(pin, c(list(tag("peto.se"), paste(source, "Peto standard error"), peto$se), extra))
  do.call(pin, c(list(tag("q"), paste(source, "Cochran's Q"), dl$QE), extra))
}

# the book: effect sizes computed here from the 2x2 tables (escalc), not read from nkreport
tables <- inputs$comparative_tables$table
book <- escalc("OR", ai = tables[, 1], n1i = tables[, 2], ci = tables[, 3], n2i = tables[, 4])
pool("book", book$yi, book$vi, tables)

# metafor's documented example: dat.bcg, log risk ratios (Peto on the same tables' odds ratios)
data(dat.bcg, package = "metadat")
bcg <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg_tables <- cbind(dat.bcg$tpos, dat.bcg$tpos + dat.bcg$tneg, dat.bcg$cpos, dat.bcg$cpos + dat.bcg$cneg)
example <- list(yi = as.numeric(bcg$yi), vi = as.numeric(bcg$vi), table = bcg_tables)
pool("bcg", as.numeric(bcg$yi), as.numeric(bcg$vi), bcg_tables, example)

write_reference("metafor", pkg_version("metafor"), "metafor.R", inputs)

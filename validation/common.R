# Helpers shared by the peer scripts: read the book's inputs, collect comparison records,
# write the pinned reference.json. Run each script from its own folder (regenerate.sh does).
suppressPackageStartupMessages(library(jsonlite))

# a package's version as its DESCRIPTION spells it (packageVersion() turns 2.2-11 into 2.2.11)
pkg_version <- function(name) utils::packageDescription(name)$Version

read_inputs <- function(path = "../inputs.json") {
  fromJSON(path, simplifyVector = TRUE)
}

.records <- new.env()
.records$list <- list()

# One pinned value: `id` names the comparison (nkreport.analysis.peer_validation.COMPARISONS,
# with an optional [case] suffix), `quantity` says what it is in words, `peer` is the value.
pin <- function(id, quantity, peer, ...) {
  .records$list[[length(.records$list) + 1]] <- c(list(id = id, quantity = quantity, peer = peer), list(...))
  invisible(peer)
}

write_reference <- function(tool, version, script, inputs, failures = list(), path = "reference.json") {
  reference <- list(
    tool = tool,
    version = version,
    r_version = paste(R.version$major, R.version$minor, sep = "."),
    script = script,
    inputs = inputs,
    failures = failures,
    comparisons = .records$list
  )
  writeLines(toJSON(reference, auto_unbox = TRUE, digits = I(17), pretty = TRUE, null = "null"), path)
  cat("wrote", path, "with", length(.records$list), "values\n")
}

"""Analysis: one module per statistical concept (exact endpoint tests, designs, Beta-mixture
priors, the MAP and comparative models each with its own exact cross-check, sensitivity,
assurance, case mix, competing risks) and the MCMC gate; reads data, never report or build.
"""

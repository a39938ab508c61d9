"""nkreport's side of the Stan comparison: the comparative model's main setting sampled with
PyMC (seeded, gated), summarised as posterior means with their Monte Carlo standard errors in
nkreport_mcmc.json. Run from the repository root: ``python validation/stan/nkreport_fit.py``
(about a minute); the appendix reads the file, the slow reference test refits.
"""

import json
from pathlib import Path

from nkreport.analysis import comparative, peer_validation

if __name__ == "__main__":
    evidence = comparative.build_evidence()
    setting = comparative.Setting("with_trial")
    fit = comparative.fit_settings(evidence, [setting])["with_trial"]
    summary = peer_validation.comparative_mcmc_summary(fit)
    record = {
        "tool": "nkreport (PyMC)",
        "setting": repr(setting),
        "sampling": repr(comparative.SAMPLING),
        "summary": summary,
    }
    target = Path(__file__).resolve().parent / peer_validation.NKREPORT_MCMC_FILE
    target.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {target}")

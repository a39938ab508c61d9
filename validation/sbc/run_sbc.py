"""Simulation-based calibration of the MAP model and the comparative model (Talts et al. 2018)
at the book's priors and sample sizes; writes sbc_result.json beside this file.

Run from the repository root: ``python validation/sbc/run_sbc.py [map_replications
comparative_replications]`` (defaults below: about 15 minutes of one core).
"""

import json
import sys
import time
from pathlib import Path

from nkreport import seed_for
from nkreport.analysis import comparative, map_model, sbc
from nkreport.data import load_cohorts

MAP_REPLICATIONS = 80
COMPARATIVE_REPLICATIONS = 80

if __name__ == "__main__":
    counts = sys.argv[1:3] if len(sys.argv) == 3 else (MAP_REPLICATIONS, COMPARATIVE_REPLICATIONS)
    n_map, n_cmp = (int(v) for v in counts)
    sizes = map_model.earlier_studies(load_cohorts(), "bsi")["n"].tolist()
    results = {}
    start = time.perf_counter()
    ranks = sbc.sbc_map(sizes, n_map, seed_for("sbc_map"))
    results["map"] = {
        "label": "MAP model",
        "replications": n_map,
        "sizes": sizes,
        "sampling": repr(sbc.SBC_SAMPLING),
        "seconds": time.perf_counter() - start,
        "parameters": sbc.summarise(ranks, sbc.MAP_PARAMETERS),
        "ranks": {name: ranks[name].tolist() for name in sbc.MAP_PARAMETERS},
    }
    start = time.perf_counter()
    evidence = comparative.build_evidence()
    ranks = sbc.sbc_comparative(n_cmp, seed_for("sbc_comparative"), evidence)
    results["comparative"] = {
        "label": "comparative model",
        "replications": n_cmp,
        "sizes": comparative.setting_data(evidence, comparative.Setting())["arm_n"].tolist(),
        "sampling": repr(sbc.SBC_SAMPLING_COMPARATIVE),
        "seconds": time.perf_counter() - start,
        "parameters": sbc.summarise(ranks, sbc.COMPARATIVE_PARAMETERS),
        "ranks": {name: ranks[name].tolist() for name in sbc.COMPARATIVE_PARAMETERS},
    }
    record = {"rank_draws": sbc.RANK_DRAWS, "rank_bins": sbc.RANK_BINS, "band_level": sbc.BAND_LEVEL,
              "models": results}
    target = Path(__file__).resolve().parent / "sbc_result.json"
    target.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {target}")

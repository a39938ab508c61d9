"""Write validation/inputs.json: the book's inputs every peer script reads (no data retyped).

Run from the repository root: ``python validation/export_inputs.py``. It samples the book's MAP
model for BSI (or reads the stored fit), about a minute.
"""

import json
from pathlib import Path

from nkreport.analysis import peer_validation

if __name__ == "__main__":
    target = Path(__file__).resolve().parent / "inputs.json"
    target.write_text(json.dumps(peer_validation.book_inputs(), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {target}")

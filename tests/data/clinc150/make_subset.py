"""Write tests/data/clinc150/subset.json from CLINC150's data_full.json (see README.md beside it).

Usage: python tests/data/clinc150/make_subset.py PATH/TO/data_full.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

INTENTS = 20  # the first intents in `train` order
OUT = Path(__file__).resolve().parent / "subset.json"


def subset(data: dict) -> dict:
    kept = list(dict.fromkeys(intent for _, intent in data["train"]))[:INTENTS]
    out = {split: [row for row in data[split] if row[1] in kept] for split in ("train", "val", "test")}
    out.update({split: data[split] for split in ("oos_train", "oos_val", "oos_test")})
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip())
    data = json.loads(Path(sys.argv[1]).read_text())
    small = subset(data)
    # One [query, intent] row a line: small diffs, and still the data_full.json format.
    splits = [
        f'"{split}": [\n' + ",\n".join(json.dumps(row, ensure_ascii=False) for row in rows) + "\n]"
        for split, rows in small.items()
    ]
    OUT.write_text("{\n" + ",\n".join(splits) + "\n}\n")
    print(f"{OUT.name}: {', '.join(f'{split} {len(rows)}' for split, rows in small.items())}")

"""The ML benchmark in one command: recommenders, then churn, lifetime value and forecasts.

Each part is its own script (``ml_recommend.py``, ``ml_predict.py``), run alone to pass it options
while a model is being worked on; this runs both with their defaults, in separate processes so one's
memory and BLAS threads do not colour the other's timings. Figures go to ``docs/benchmarks.md``;
what each model does and its measured quality to ``docs/models.md``.

    OPENBLAS_NUM_THREADS=1 uv run python benchmarks/ml.py
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PARTS = ("ml_recommend.py", "ml_predict.py")


def main() -> int:
    here = Path(__file__).resolve().parent
    print("command: OPENBLAS_NUM_THREADS=1 uv run python benchmarks/ml.py", flush=True)
    for part in PARTS:
        print(f"\n=== benchmarks/{part} ===", flush=True)
        code = subprocess.call([sys.executable, str(here / part)])
        if code != 0:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Drive ../shared/peers/knn_numpy.py for bench/knn.ts: its own load() and distances() (imported,
not copied) on the first --train training and --test test images, kept loaded between requests.

Each line on stdin is a request; each is answered by one JSON line on stdout:
  "distances" -> {"seconds": ...}  one no-loop distance matrix, timed as knn_numpy.py times it
  "info"      -> numpy version and BLAS
Run with Debian's python (/usr/bin/python3), as the peers' README says.
"""
import json, os, sys, time
import numpy as np

sys.path.insert(0, os.environ.get("PEERS_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "peers")))
from knn_numpy import load, distances  # noqa: E402

data, ntrain, ntest = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
xs, _ = zip(*[load(data, f"data_batch_{i}.bin", 10000) for i in range(1, 6)])
Xtr = np.concatenate(xs)[:ntrain]
Xte, _ = load(data, "test_batch.bin", ntest)
for line in sys.stdin:
    req = line.strip()
    if req == "distances":
        t = time.perf_counter()
        distances(Xte, Xtr)
        out = {"seconds": time.perf_counter() - t}
    elif req == "info":
        out = {"numpy": np.__version__, "float": "float64"}
    else:
        out = {"error": f"unknown request {req!r}"}
    print(json.dumps(out), flush=True)

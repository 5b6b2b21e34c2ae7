"""Run every benchmark module (``bench/bench_*.py``) in order, or those named on the
command line: ``python -m bench engine stream``.

With more than one, each runs in a fresh interpreter, as ``streamer run`` would: models
and corpora an earlier benchmark loaded would otherwise stay in this process, and its
garbage collector would walk them all through the later ones' measurements.
"""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import time

import bench


def main(argv: list[str]) -> int:
    names = sorted(
        info.name.removeprefix("bench_")
        for info in pkgutil.iter_modules(bench.__path__)
        if info.name.startswith("bench_")
    )
    selected = [n for n in names if not argv or n in argv]
    unknown = [n for n in argv if n not in names]
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {names}", file=sys.stderr)
        return 2
    for name in selected:
        if len(selected) > 1:  # the child prints the header and the time
            finished = subprocess.run([sys.executable, "-m", "bench", name], check=False)
            if finished.returncode != 0:
                print(f"# bench {name} failed (exit {finished.returncode})", flush=True)
                return finished.returncode
            continue
        print(f"# bench {name}", flush=True)
        started = time.perf_counter()
        importlib.import_module(f"bench.bench_{name}").main()
        print(f"# bench {name} took {time.perf_counter() - started:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

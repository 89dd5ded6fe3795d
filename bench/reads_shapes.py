"""Per-shape latency inside the read mix, from cavra serve's access log: bench/reads_mix.lua
sends each request's shape name as X-Request-Id, which cavra writes into the request's access
line with its duration (ms=, measured by cavra from the request's arrival to the reply's end,
so wrk's own queueing is not in it).
    python3 bench/reads_shapes.py LOG
prints one line per shape: name n p50 p99 max over20 (requests over 20 ms), then 'all'."""
import re
import sys


def pct(values, p):
    return values[min(len(values) - 1, int(len(values) * p))]


def main(path):
    shapes = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if "access method=" not in line:
                continue
            ms = re.search(r"\bms=([0-9.]+)", line)
            rid = re.search(r"\brequest_id=([A-Za-z_]+)\b", line)
            if ms and rid:
                shapes.setdefault(rid.group(1), []).append(float(ms.group(1)))
    every = sorted(v for vs in shapes.values() for v in vs)
    for name, vs in sorted(shapes.items()) + [("all", every)]:
        vs.sort()
        if vs:
            print(f"{name} {len(vs)} {pct(vs, .5):.2f} {pct(vs, .99):.2f} {vs[-1]:.2f} "
                  f"{sum(1 for v in vs if v > 20)}")


if __name__ == "__main__":
    main(sys.argv[1])

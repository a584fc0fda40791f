"""AMI throughput: our parse -> model -> domain events, against panoramisk's raw parse.

    .venv/bin/python scripts/bench_ami.py [--repeat N] [FIXTURE.ami ...]

Both sides run in this one process, on the same bytes (the recorded sandbox streams in
tests/fixtures/ami/, concatenated and repeated, with linkedids made unique per repeat so
the model really tracks that many calls), fed in 4 KiB chunks as a socket would.

* baseline: panoramisk 1.4's ``AMIProtocol.data_received`` -> ``Message`` -> dispatch to
  a no-op callback (the cheapest thing panoramisk can do with a stream);
* ours: ``KccAMIProtocol`` framing -> ordered sink -> ``CallModel.apply`` -> domain events.

It prints events/s for each and the ratio ours/baseline. Machines are noisy: compare the
ratio, not the absolute numbers, and run it twice.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from panoramisk.ami_protocol import AMIProtocol  # noqa: E402

from telephony.ami.protocol import KccAMIProtocol  # noqa: E402
from telephony.model.calls import CallModel  # noqa: E402


class _NullTransport:
    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def build_stream(paths: list[Path], repeat: int) -> bytes:
    """Concatenate fixtures; rewrite ids so each repeat is a distinct set of calls."""
    raw = b"".join(p.read_bytes() for p in paths)
    # Drop the banner and the resync answers (they belong to one connection).
    text = raw.decode("utf-8")
    frames = [f for f in text.split("\r\n\r\n")
              if f.strip() and "ActionID:" not in f and not f.startswith("Asterisk Call")]
    body = "\r\n\r\n".join(frames) + "\r\n\r\n"
    ids = sorted(set(re.findall(r"\b(\d{10}\.\d+)\b", body)))
    out = []
    for i in range(repeat):
        chunk = body
        for old in ids:
            chunk = chunk.replace(old, f"{old}{i:05d}")
        out.append(chunk)
    return "".join(out).encode("utf-8")


def run_baseline(stream: bytes) -> tuple[float, int]:
    seen = 0

    class Factory:
        def dispatch(self, message):
            nonlocal seen
            seen += 1

    proto = AMIProtocol()
    proto.connection_made(_NullTransport())
    proto.factory = Factory()
    proto.encoding = "utf8"
    proto.version = "bench"
    t0 = time.perf_counter()
    for i in range(0, len(stream), 4096):
        proto.data_received(stream[i:i + 4096])
    return time.perf_counter() - t0, seen


def run_ours(stream: bytes) -> tuple[float, int, int]:
    model = CallModel()
    domain = 0
    seen = 0

    def sink(item):
        nonlocal domain, seen
        seen += 1
        domain += len(model.apply(item))
        return 0

    proto = KccAMIProtocol()
    proto.connection_made(_NullTransport())
    proto.event_sink = sink
    proto.want(CallModel.wanted_events() | {"FullyBooted"})  # as the service does
    proto.version = "bench"
    t0 = time.perf_counter()
    for i in range(0, len(stream), 4096):
        proto.data_received(stream[i:i + 4096])
    return time.perf_counter() - t0, seen, domain


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("fixtures", nargs="*", type=Path)
    parser.add_argument("--repeat", type=int, default=300)
    args = parser.parse_args()
    paths = args.fixtures or sorted((ROOT / "tests" / "fixtures" / "ami").glob("*.ami"))
    if not paths:
        print("no fixtures: run scripts/record_ami_fixtures.py first", file=sys.stderr)
        return 1
    stream = build_stream(paths, args.repeat)
    mb = len(stream) / 1e6
    # Interleave runs so drift in machine load hits both sides alike; keep the best of 3.
    base_best, ours_best = float("inf"), float("inf")
    for _ in range(3):
        t, n_base = run_baseline(stream)
        base_best = min(base_best, t)
        t, n_ours, domain = run_ours(stream)
        ours_best = min(ours_best, t)
    print(f"stream: {mb:.1f} MB, {n_base} events ({len(paths)} fixtures x {args.repeat})")
    print(f"panoramisk raw parse      : {n_base / base_best:12,.0f} events/s")
    print(f"kcc parse+model+events    : {n_base / ours_best:12,.0f} events/s "
          f"({n_ours} for the model, {domain} domain events)")
    print(f"ratio kcc / panoramisk    : {base_best / ours_best:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

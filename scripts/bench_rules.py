"""Call-script rules: decision time per action, measured within one run.

    .venv/bin/python scripts/bench_rules.py [--rounds 20000]

The rules engine (telephony/scripting/rules.py) is asked on every agent action and for
every button of the panel's script view; this prints the median and p99 time of one
decision per action kind on the shipped afval script (the longest, with a branch), and of
a whole script view (every button's decision plus the rendered steps).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from types import MappingProxyType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from telephony.scripting.rules import Action, CallState, decide
from telephony.scripting.toml_io import parse_script

SCRIPT = parse_script((Path(__file__).resolve().parents[1] / "config" / "scripts"
                       / "afval.toml").read_text(), "afval.toml")
DONE = CallState(answers=MappingProxyType({"soort": "grofvuil", "adres": "2801AB 12"}),
                 verify="passed")
CASES = {
    "view_details": (CallState(), Action("view_details")),
    "answer": (CallState(), Action("answer", step="adres", value="2801 ab 12")),
    "verify": (CallState(), Action("verify", facts=MappingProxyType(
        {"geboortedatum": True, "postcode_huisnummer": True}))),
    "transfer": (CallState(), Action("transfer", note="notitie", reason="reden")),
    "outcome": (DONE, Action("outcome", outcome="afspraak", detail=MappingProxyType(
        {"datum": "2026-12-08", "tijd": "07:30", "plaats": "straat"}))),
    "end_nawerk": (CallState(outcome="beantwoord"), Action("end_nawerk")),
}


def timed(fn, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        fn()
        out.append((time.perf_counter_ns() - t0) / 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20000)
    rounds = parser.parse_args().rounds
    print(f"rules decision time, {rounds} rounds each (µs)")
    for name, (state, action) in CASES.items():
        samples = sorted(timed(lambda s=state, a=action: decide(SCRIPT, s, a), rounds))
        print(f"  {name:13s} median {statistics.median(samples):6.2f}  "
              f"p99 {samples[int(len(samples) * 0.99)]:6.2f}")
    from telephony.scripting.store import CallScript
    from telephony.scripting.view import script_view

    current = CallScript("1.1", "anna", 1, 1, SCRIPT, DONE, "", {"status": "open"})
    samples = sorted(timed(lambda: script_view(current, {"medewerker": "anna"}),
                           rounds // 10))
    print(f"  {'script view':13s} median {statistics.median(samples):6.2f}  "
          f"p99 {samples[int(len(samples) * 0.99)]:6.2f}")


if __name__ == "__main__":
    main()

"""Calls per second the sandbox Asterisk sustains under SIPp, and CPU per call.

    .venv/bin/python scripts/bench_sipp.py [--rates 10,25,50,100] [--seconds 8]

For each rate SIPp (scripts/sipp/kcc_uac.xml) places calls into 14 0182 for ``--seconds``;
each call goes the full production path: PJSIP trunk -> dialplan -> FastAGI to the
service -> Queue(algemeen) with music on hold -> the caller hangs up after 1 s. The service
runs as its own process (``kcc run``) so its CPU time can be read from /proc beside
Asterisk's. Printed per rate: calls attempted/completed/failed, and CPU seconds per call
of Asterisk and of the service, plus their ratio (measured in the same run).

SIPp's own ports follow the sandbox's offset (``sip_port - 5060``), so the benchmark can
run beside another sandbox. ``--py-spy FILE`` samples the service with py-spy
(``pip install py-spy``) for the whole run and prints the functions that hold most of
its CPU (self time), to show where the time per call goes.
"""

from __future__ import annotations

import argparse
import csv
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from telephony import sandbox  # noqa: E402
from telephony.config import load_config  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
OWN_CODE = ("(telephony/", "(ivr/", "(agent_ui/")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def run_rate(rate: int, seconds: int, sip_port: int, offset: int = 0) -> tuple[int, int]:
    total = rate * seconds
    with tempfile.TemporaryDirectory() as tmp:
        stat = Path(tmp) / "stat.csv"
        cmd = ["sipp", "-sf", str(ROOT / "scripts" / "sipp" / "kcc_uac.xml"), "-s", "140182",
               "-i", "127.0.0.1", "-p", str(5290 + offset), "-mi", "127.0.0.1",
               "-mp", str(6400 + offset),
               "-set", "dname", "Bench Bürger", "-set", "digit", "", "-d", "1000",
               "-r", str(rate), "-m", str(total), "-l", str(rate * 4),
               "-timeout", f"{seconds + 30}s", "-nostdin", "-trace_stat", "-stf", str(stat),
               "-fd", "1", f"127.0.0.1:{sip_port}"]
        subprocess.run(cmd, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=seconds + 60, check=False)
        rows = list(csv.reader(stat.open(), delimiter=";"))
        header, last = rows[0], rows[-1]
        ok = int(last[header.index("SuccessfulCall(C)")])
        failed = int(last[header.index("FailedCall(C)")])
        return ok, failed


def with_redis_prefix(path: Path, prefix: str, tmp: Path) -> Path:
    """A copy of the config with ``[redis] prefix`` replaced (the database is chosen by
    ``KCC_DATABASE_URL`` in the environment), so a run cannot touch another's keys."""
    if not re.fullmatch(r"[a-z0-9_:]{1,32}", prefix):
        raise SystemExit("--redis-prefix: lower-case letters, digits, '_' and ':' only")
    text, count = re.subn(r'(?m)^prefix = ".*"$', f'prefix = "{prefix}"', path.read_text())
    if count != 1:
        raise SystemExit(f"{path}: expected one 'prefix = ...' line in [redis]")
    out = tmp / path.name
    out.write_text(text)
    return out


def print_top(path: Path, count: int = 15) -> None:
    """Self time per function from py-spy's collapsed stacks (``a;b;c N`` lines)."""
    self_time: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if not samples.isdigit():
            continue
        frames = stack.split(";")
        self_time[frames[-1]] = self_time.get(frames[-1], 0) + int(samples)
        total += int(samples)
        for name in {f for f in frames if any(m in f for m in OWN_CODE)}:
            own[name] = own.get(name, 0) + int(samples)
    print(f"service profile ({total} samples holding the GIL), self time:")
    for leaf, samples in sorted(self_time.items(), key=lambda kv: -kv[1])[:count]:
        print(f"  {100 * samples / max(total, 1):5.1f}%  {leaf}")
    print("inclusive time of the service's own code:")
    for name, samples in sorted(own.items(), key=lambda kv: -kv[1])[:count]:
        print(f"  {100 * samples / max(total, 1):5.1f}%  {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", default=str(ROOT / "config" / "demo.toml"))
    parser.add_argument("--rates", default="10,25,50,100")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--redis-prefix", default="",
                        help="run the service with this Redis key prefix (beside others)")
    parser.add_argument("--py-spy", dest="py_spy", default="",
                        help="collapsed-stack file to record the service's profile into")
    args = parser.parse_args()
    os.environ.setdefault("KCC_DEMO", "1")
    config_path = Path(args.config)
    tmp = tempfile.TemporaryDirectory()
    if args.redis_prefix:
        config_path = with_redis_prefix(config_path, args.redis_prefix, Path(tmp.name))
    config = load_config(config_path)
    sandbox.up(config)
    service = subprocess.Popen([str(ROOT / ".venv" / "bin" / "kcc"), "run", "--config",
                                str(config_path)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        health = f"http://{config.service.http_host}:{config.service.http_port}/healthz"
        for _ in range(100):
            try:
                with urllib.request.urlopen(health, timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        else:
            print("service did not become healthy", file=sys.stderr)
            return 1
        (ast_pid,) = sandbox.asterisk_pids()[:1]
        offset = config.asterisk.sip_port - 5060
        spy = None
        if args.py_spy:
            spy = subprocess.Popen([str(ROOT / ".venv" / "bin" / "py-spy"), "record",
                                    "-r", "200", "--gil", "--nonblocking", "-f", "raw",
                                    "-o", args.py_spy, "--pid", str(service.pid)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(f"{'rate/s':>7} {'calls':>6} {'ok':>6} {'failed':>6} "
              f"{'ast ms/call':>12} {'svc ms/call':>12} {'svc/ast':>8}")
        for rate in (int(r) for r in args.rates.split(",")):
            a0, s0 = cpu_seconds(ast_pid), cpu_seconds(service.pid)
            ok, failed = run_rate(rate, args.seconds, config.asterisk.sip_port, offset)
            time.sleep(2)  # let the service finish the tail of events
            ast = (cpu_seconds(ast_pid) - a0) * 1000 / max(ok, 1)
            svc = (cpu_seconds(service.pid) - s0) * 1000 / max(ok, 1)
            print(f"{rate:>7} {rate * args.seconds:>6} {ok:>6} {failed:>6} "
                  f"{ast:>12.2f} {svc:>12.2f} {svc / ast if ast else 0:>8.2f}")
        if spy is not None:
            spy.send_signal(2)  # SIGINT: py-spy writes its file and exits
            spy.wait(30)
            print_top(Path(args.py_spy))
    finally:
        service.terminate()
        try:
            service.wait(10)
        except subprocess.TimeoutExpired:
            service.kill()
            service.wait(10)
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())

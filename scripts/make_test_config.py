#!/usr/bin/env python3
"""Write a copy of a KCC config with every port shifted, for a second sandbox.

Two people (or CI jobs) can then run Asterisk tests side by side: each sandbox has its
own root filesystem (KCC_SANDBOX_DIR) and its own ports. The copy is made textually, so
it follows every change to config/demo.toml and keeps its comments and line numbers.
Paths into the default sandbox (prompt and recording directories) are pointed at the
other sandbox.

    scripts/make_test_config.py --offset 100 --sandbox-dir /var/lib/kcc-telefonie/sandbox-ivr \
        --out /tmp/kcc-ivr/demo-ivr.toml
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SANDBOX = "/var/lib/kcc-telefonie/sandbox"
_PORT = re.compile(r"^(\s*[a-z_]*port\s*=\s*)(\d+)(.*)$")


def shifted(text: str, offset: int, sandbox_dir: str | None) -> str:
    out = []
    for line in text.splitlines(keepends=True):
        match = _PORT.match(line)
        if match:
            port = int(match.group(2)) + offset
            if not 1 <= port <= 65535:
                raise SystemExit(f"port {port} out of range in: {line.strip()}")
            line = f"{match.group(1)}{port}{match.group(3)}\n"
        if sandbox_dir:
            line = line.replace(f'"{DEFAULT_SANDBOX}/', f'"{sandbox_dir.rstrip("/")}/')
        out.append(line)
    return "".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(REPO / "config" / "demo.toml"))
    parser.add_argument("--offset", type=int, required=True)
    parser.add_argument("--sandbox-dir", default=None)
    parser.add_argument("--out", default="-")
    args = parser.parse_args(argv)
    text = shifted(Path(args.config).read_text(encoding="utf-8"), args.offset,
                   args.sandbox_dir)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

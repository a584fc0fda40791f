"""``kcc scripts``: import call scripts from TOML files and export them again.

Writes PostgreSQL directly (the service may be stopped); an import is a new version like a
save in the editor, with ``--by`` as who made it. An import with an error prints the
problems with file, line and key and stores nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from telephony.config import Config, ConfigError, load_config
from telephony.scripting.model import Script
from telephony.scripting.store import ScriptStore
from telephony.scripting.toml_io import ScriptError, parse_script
from telephony.store import db


async def _run(args: argparse.Namespace, config: Config,
               parsed: list[tuple[Script, str]]) -> str | None:
    """Import ``parsed``, or return the exported text / the listing."""
    pool = await db.connect(config.database_dsn(), 1, 2)
    store = ScriptStore(pool)
    try:
        if args.scripts_cmd == "import":
            lines = []
            for script, text in parsed:
                saved = await store.save(script, text, args.by)
                where = f"/{saved['municipality']}" if saved["municipality"] else ""
                lines.append(f"{saved['subject']}{where}: version {saved['version']}\n")
            return "".join(lines)
        if args.scripts_cmd == "export":
            return await store.export(args.subject, args.municipality)
        return "".join(f"{i['subject']:<20} {i['municipality'] or '-':<16} v{i['current']:<4} "
                       f"{i['created_by']:<12} {i['title']}\n" for i in await store.listing())
    finally:
        await pool.close()


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("scripts", help="call scripts: import/export TOML, list (PostgreSQL)")
    p.add_argument("--config", default="config/demo.toml")
    cmds = p.add_subparsers(dest="scripts_cmd", required=True)
    cmds.add_parser("list", help="scripts with their current version")
    imp = cmds.add_parser("import", help="save TOML files as new versions")
    imp.add_argument("files", nargs="+")
    imp.add_argument("--by", default="kcc-cli", help="who made this change (change log)")
    exp = cmds.add_parser("export", help="the current version as TOML")
    exp.add_argument("subject")
    exp.add_argument("--municipality", default="")
    exp.add_argument("--out", help="write to this file (default: stdout)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
        # Every file is checked before anything is stored.
        parsed = [(parse_script(p.read_text(encoding="utf-8"), p.name),
                   p.read_text(encoding="utf-8"))
                  for p in map(Path, args.files if args.scripts_cmd == "import" else [])]
        text = asyncio.run(_run(args, config, parsed))
        if text is None:
            print(f"error: no script for {args.subject}", file=sys.stderr)
            return 2
        if args.scripts_cmd == "export" and args.out:
            Path(args.out).write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return 0
    except ConfigError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 2
    except ScriptError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

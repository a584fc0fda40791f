"""The ``kcc`` command: one entry point for operators, the demo and the tests."""

from __future__ import annotations

import argparse
import asyncio
import sys

DEFAULT_CONFIG = "config/demo.toml"


def _cmd_check_config(args: argparse.Namespace) -> int:
    from telephony.config import ConfigError, load_config

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    print(f"{args.config}: OK — {len(config.municipalities)} municipalities, "
          f"{len(config.numbers)} numbers, {len(config.queues)} queues")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from telephony.config import ConfigError, load_config
    from telephony.service import run_service

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    return asyncio.run(run_service(config))


def _cmd_demo(args: argparse.Namespace) -> int:
    from telephony.demo import run_demo

    return asyncio.run(run_demo(args.config, calls=args.calls, interval=args.interval,
                                real_hours=args.real_hours))


def _cmd_sandbox(args: argparse.Namespace) -> int:
    from telephony import sandbox

    return sandbox.main(args)


def _cmd_render(args: argparse.Namespace) -> int:
    from telephony.asterisk_conf import write_rendered
    from telephony.config import load_config

    for path in write_rendered(load_config(args.config), args.out):
        print(path)
    return 0


def _cmd_make_cert(args: argparse.Namespace) -> int:
    from telephony.transport import self_signed

    cert, key = self_signed(args.out, args.hostname)
    print(f'[service]\ntls_cert = "{cert}"\ntls_key = "{key}"')
    return 0


def _cmd_db_roles(args: argparse.Namespace) -> int:
    from telephony.store.roles import ensure_roles

    asyncio.run(ensure_roles(args.admin_dsn, args.owner, args.app))
    print(f"roles {args.owner} (migrations, owns the tables) and {args.app} (application) "
          "exist")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kcc", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check-config", help="validate a municipality config file")
    p.add_argument("config")
    p.set_defaults(func=_cmd_check_config)

    p = sub.add_parser("run", help="run the service")
    p.add_argument("--config", default=DEFAULT_CONFIG)
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("demo", help="sandbox Asterisk + service + demo calls")
    p.add_argument("--config", default=DEFAULT_CONFIG)
    p.add_argument("--calls", type=int, default=0, help="stop after N demo calls (0 = forever)")
    p.add_argument("--interval", type=float, default=8.0, help="seconds between demo calls")
    p.add_argument("--real-hours", action="store_true",
                   help="use the config's opening hours (default: open 24/7 for the demo)")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("render-asterisk-conf", help="render asterisk-conf/ templates")
    p.add_argument("--config", default=DEFAULT_CONFIG)
    p.add_argument("--out", required=True, help="directory to write the .conf files to")
    p.set_defaults(func=_cmd_render)

    p = sub.add_parser("make-cert", help="a self-signed certificate for HTTPS (demo only)")
    p.add_argument("--out", required=True, help="directory for kcc-demo.crt/.key")
    p.add_argument("--hostname", default="localhost")
    p.set_defaults(func=_cmd_make_cert)
    p = sub.add_parser("db-roles", help="create the migrations and application database "
                                        "roles (demo/test; production: your DBA)")
    p.add_argument("--admin-dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--owner", default="kcc_owner")
    p.add_argument("--app", default="kcc_app")
    p.set_defaults(func=_cmd_db_roles)

    from telephony.acd.cli import register as register_agents

    register_agents(sub)

    from telephony.scripting.cli import register as register_scripts

    register_scripts(sub)

    p = sub.add_parser("sandbox", help="the sandbox Asterisk 22 (Debian sid chroot)")
    p.add_argument("action", choices=["up", "down", "status", "reload"])
    p.add_argument("--config", default=DEFAULT_CONFIG)
    p.set_defaults(func=_cmd_sandbox)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())

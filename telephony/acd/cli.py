"""``kcc agents``: manage agents from the command line (the admin API does the same).

Writes PostgreSQL directly, so it works with the service stopped. A skill change for an
agent who is logged in right now takes effect in Asterisk at their next login; use
``PUT /api/acd/agents/{login}/skills`` for a live change.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys

from telephony.acd.agents_repo import AgentError, AgentRepository, validate_skills
from telephony.config import Config, ConfigError, load_config
from telephony.store import db


def _skills(pairs: list[str], config: Config) -> dict[str, int]:
    raw: dict[str, int] = {}
    for pair in pairs:
        queue, sep, level = pair.partition("=")
        if not sep or not level.strip().isdigit():
            raise AgentError("bad_skills", f"skill must look like queue=level, got {pair!r}")
        raw[queue.strip()] = int(level)
    return validate_skills(raw, {q.id for q in config.queues})


def _password(args: argparse.Namespace) -> str | None:
    if getattr(args, "password_env", None):
        value = os.environ.get(args.password_env)
        if not value:
            raise AgentError("bad_password", f"environment variable {args.password_env} is empty")
        return value
    if getattr(args, "ask_password", False):
        return getpass.getpass("password: ")
    return None


async def _end_sessions(config: Config, login: str) -> None:
    """The running service's sessions of ``login`` end and its WebSockets close (their
    tokens already stopped working: the role is read from PostgreSQL on every request)."""
    import redis.asyncio as aioredis

    from telephony.auth import Sessions

    async def no_role(_login: str) -> None:
        return None

    client = aioredis.from_url(config.redis_url(), decode_responses=True, socket_timeout=5)
    try:
        ended = await Sessions(client, config.redis.prefix, 60, b"", no_role).revoke_all(login)
        print(f"{ended} session(s) of {login} ended")
    except (OSError, aioredis.RedisError) as exc:
        print(f"sessions of {login} not ended in Redis ({type(exc).__name__}); their tokens "
              "no longer work, open panels close when they reconnect")
    finally:
        await client.aclose()


async def _run(args: argparse.Namespace, config: Config) -> int:
    pool = await db.connect(config.database_dsn(), 1, 2,
                            migrations_dsn=config.migrations_dsn())
    repo = AgentRepository(pool)
    try:
        if args.agents_cmd == "list":
            for agent in await repo.all():
                skills = ", ".join(f"{q}={lvl}" for q, lvl in sorted(agent.skills.items()))
                flag = "" if agent.active else "  (inactive)"
                print(f"{agent.login:<16} {agent.role:<15} {agent.endpoint:<28} {skills}{flag}")
        elif args.agents_cmd == "add":
            record = await repo.create(args.login, args.name,
                                       args.endpoint or f"PJSIP/agent-{args.login}",
                                       args.role, _password(args), _skills(args.skill, config))
            print(f"added {record.login}")
        elif args.agents_cmd == "skills":
            await repo.set_skills(args.login, _skills(args.skill, config))
            print(f"skills of {args.login} set")
        elif args.agents_cmd == "remove":
            if not await repo.deactivate(args.login):
                raise AgentError("not_found", f"no agent {args.login}")
            print(f"{args.login} deactivated (history kept)")
            await _end_sessions(config, args.login)
    finally:
        await pool.close()
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("agents", help="manage agents (PostgreSQL)")
    p.add_argument("--config", default="config/demo.toml")
    cmds = p.add_subparsers(dest="agents_cmd", required=True)
    cmds.add_parser("list", help="all agents with skills")
    add = cmds.add_parser("add", help="create an agent")
    add.add_argument("login")
    add.add_argument("--name", required=True)
    add.add_argument("--endpoint", help="Asterisk interface (default PJSIP/agent-<login>)")
    add.add_argument("--role", default="agent",
                     choices=["agent", "supervisor", "admin", "privacy_officer"])
    add.add_argument("--skill", action="append", default=[], metavar="QUEUE=LEVEL")
    add.add_argument("--password-env", help="read the password from this env variable")
    add.add_argument("--ask-password", action="store_true")
    sk = cmds.add_parser("skills", help="replace an agent's skills")
    sk.add_argument("login")
    sk.add_argument("--skill", action="append", default=[], metavar="QUEUE=LEVEL")
    rm = cmds.add_parser("remove", help="deactivate an agent")
    rm.add_argument("login")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
        return asyncio.run(_run(args, config))
    except ConfigError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 2
    except AgentError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

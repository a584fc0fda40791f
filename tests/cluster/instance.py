"""One service instance of a test cluster, as its own process (so a test can SIGKILL it).

    python tests/cluster/instance.py PREFIX INSTANCE_ID PORT_SHIFT

Config: ``KCC_TEST_CONFIG`` (default ``config/demo.toml``) made into a cluster member by
:func:`member_config` (the shared test database and Redis prefix, its own HTTP and
FastAGI ports).
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from telephony.config import Config, load_config  # noqa: E402

TEST_DB = os.environ.get("KCC_TEST_DATABASE") or "kcc_test"
TEST_DSN = f"postgresql://postgres@127.0.0.1:5432/{TEST_DB}"


def member_config(base: Config, prefix: str, instance_id: str, shift: int) -> Config:
    """``base`` as one member of a cluster: shared DB/Redis, ports shifted by ``shift``.

    The IVR's menus stay off (as in tests/integration): the inbound route still runs as
    a FastAGI session, which is what failover is about.
    """
    s = base.service
    return base.model_copy(update={
        "ivr": base.ivr.model_copy(update={"enabled": False}),
        "service": s.model_copy(update={"http_port": s.http_port + 101 + shift,
                                        "agi_port": s.agi_port + shift,
                                        "instance_id": instance_id}),
        "database": base.database.model_copy(update={"default_dsn": TEST_DSN,
                                                     "dsn_env": "KCC_TEST_NO_SUCH_ENV"}),
        "redis": base.redis.model_copy(update={"prefix": prefix,
                                               "url_env": "KCC_TEST_NO_SUCH_ENV"}),
    })


async def _main(prefix: str, instance_id: str, shift: int) -> None:
    from telephony.service import KccService

    os.environ.setdefault("KCC_DEMO", "1")
    # As tests/conftest.py: config/demo.toml unless KCC_TEST_CONFIG names another (CI
    # runs without it; a KeyError here was instance A "not starting" there).
    base = load_config(os.environ.get("KCC_TEST_CONFIG") or ROOT / "config" / "demo.toml")
    service = KccService(member_config(base, prefix, instance_id, shift))
    await service.start()
    await service.link.wait_connected(20)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1], sys.argv[2], int(sys.argv[3])))

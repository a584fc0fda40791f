"""A real Asterisk 22 for development, the demo and the integration tests.

Debian bookworm has no Asterisk package; Debian sid has Asterisk 22. A minimal sid root
filesystem run with ``chroot`` gives a real Asterisk that shares this machine's loopback,
so tests exercise the real dialplan, app_queue and AMI instead of a mock that agrees
with whatever the service expects.

Layout (both outside the repository):

* ``$KCC_CACHE_DIR/asterisk-sid-rootfs.tar.zst`` (default dir ``/var/cache/kcc-telefonie``):
  the built root filesystem. sid moves daily and an install can fail on a bad day; a
  cached build keeps every later run independent of the mirror.
* ``$KCC_SANDBOX_DIR`` (default ``/var/lib/kcc-telefonie/sandbox``): the working copy that
  Asterisk runs in, with the rendered config in ``etc/asterisk``.

Everything is idempotent: ``up`` on a running sandbox only refreshes the config (and
reloads when it changed). Needs root (chroot, debootstrap).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from telephony.asterisk_conf import SECRET_FILES, render
from telephony.config import Config, ConfigError, load_config

TARBALL_NAME = "asterisk-sid-rootfs.tar.zst"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
PACKAGES = ("asterisk", "asterisk-core-sounds-en-gsm", "asterisk-moh-opsound-gsm")
BUILD_ATTEMPTS = 3
MARKER = ".kcc-sandbox-rootfs"
ASTERISK_BIN = "/usr/sbin/asterisk"
# Changes to these need a restart; everything else is picked up by "core reload".
RESTART_FILES = {"modules.conf", "asterisk.conf", "http.conf", "logger.conf"}
# The chroot environment: no host variables (proxies, locales, secrets) leak in.
CHROOT_ENV = {
    "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
}


class SandboxError(RuntimeError):
    """The sandbox could not be built, started or reached; the message says what failed."""


def cache_dir() -> Path:
    return Path(os.environ.get("KCC_CACHE_DIR") or "/var/cache/kcc-telefonie")


def tarball_path() -> Path:
    return cache_dir() / TARBALL_NAME


def sandbox_dir() -> Path:
    return Path(os.environ.get("KCC_SANDBOX_DIR") or "/var/lib/kcc-telefonie/sandbox")


def _log(message: str) -> None:
    print(f"[sandbox] {message}", file=sys.stderr, flush=True)


def _require_root() -> None:
    if os.geteuid() != 0:
        raise SandboxError("the sandbox needs root (chroot, debootstrap); run as root")


def _run(cmd: list[str], timeout: float = 600, check: bool = True,
         **kwargs: object) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              check=False, **kwargs)  # type: ignore[call-overload]
    except subprocess.TimeoutExpired:
        raise SandboxError(f"timed out after {timeout:.0f} s: {' '.join(cmd)}") from None
    if check and proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout or "").strip().splitlines()[-15:])
        raise SandboxError(f"failed (exit {proc.returncode}): {' '.join(cmd)}\n{tail}")
    return proc


# --------------------------------------------------------------------------- building

def _ensure_debootstrap() -> None:
    if shutil.which("debootstrap"):
        return
    _log("installing debootstrap (apt-get)")
    _run(["apt-get", "install", "-y", "--no-install-recommends", "debootstrap"], timeout=600,
         env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def build_tarball(force: bool = False) -> Path:
    """Build the sid root filesystem with debootstrap and cache it as a tarball.

    Retries because sid can be mid-transition on any given day; each failure is reported
    with the tail of debootstrap's log so the reason (a missing package version, a mirror
    error) is visible without digging.
    """
    _require_root()
    target = tarball_path()
    if target.exists() and not force:
        return target
    _ensure_debootstrap()
    cache_dir().mkdir(parents=True, exist_ok=True)
    build = cache_dir() / "build-rootfs.tmp"
    errors: list[str] = []
    for attempt in range(1, BUILD_ATTEMPTS + 1):
        shutil.rmtree(build, ignore_errors=True)
        _log(f"debootstrap sid with {', '.join(PACKAGES)} (attempt {attempt}/{BUILD_ATTEMPTS};"
             " about a minute)")
        started = time.monotonic()
        proc = _run(["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}",
                     "sid", str(build), DEBIAN_MIRROR], timeout=1800, check=False)
        if proc.returncode == 0 and (build / ASTERISK_BIN.lstrip("/")).exists():
            _log(f"debootstrap done in {time.monotonic() - started:.0f} s")
            break
        log = build / "debootstrap" / "debootstrap.log"
        detail = (log.read_text(errors="replace") if log.exists() else proc.stderr or "")
        tail = "\n".join(detail.strip().splitlines()[-10:])
        errors.append(f"attempt {attempt}: debootstrap exit {proc.returncode}\n{tail}")
        _log(errors[-1])
        time.sleep(5 * attempt)
    else:
        shutil.rmtree(build, ignore_errors=True)
        raise SandboxError(
            f"could not build the Asterisk root filesystem with debootstrap from "
            f"{DEBIAN_MIRROR} after {BUILD_ATTEMPTS} attempts (Debian sid may be "
            "mid-transition today; a cached tarball avoids this):\n" + "\n".join(errors))
    pack_rootfs(build, target)
    shutil.rmtree(build, ignore_errors=True)
    return target


def pack_rootfs(rootfs: Path, target: Path | None = None) -> Path:
    """Tar+zstd a built root filesystem into the cache (also used to seed the cache)."""
    target = target or tarball_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    cmd = (f"tar --numeric-owner -C '{rootfs}' -cf - . | zstd -q -T0 -3 -f -o '{tmp}'")
    _run(["bash", "-o", "pipefail", "-c", cmd], timeout=900)
    tmp.replace(target)
    _log(f"cached root filesystem: {target} ({target.stat().st_size // 2**20} MB)")
    return target


def _tarball_stamp(tarball: Path) -> str:
    st = tarball.stat()
    return f"{tarball}:{st.st_size}:{int(st.st_mtime)}\n"


def rootfs_built() -> bool:
    root = sandbox_dir()
    return (root / ASTERISK_BIN.lstrip("/")).exists() and (root / MARKER).exists()


def ensure_rootfs() -> bool:
    """Make sure the working root filesystem exists; True when it was (re)extracted.

    A rootfs extracted from an older tarball is replaced when the cache was rebuilt; a
    rootfs without a tarball (cache deleted) is kept, since it still works.
    """
    root = sandbox_dir()
    tarball = tarball_path()
    if rootfs_built():
        if not tarball.exists() or (root / MARKER).read_text() == _tarball_stamp(tarball):
            return False
        _log("the cached tarball changed; replacing the sandbox root filesystem")
    if not tarball.exists():
        build_tarball()
    # Never delete a root filesystem an Asterisk is still running from.
    _stop_processes(asterisk_pids())
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = root.with_name(root.name + ".extract.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    started = time.monotonic()
    _run(["tar", "--numeric-owner", "-I", "zstd", "-xf", str(tarball), "-C", str(tmp)],
         timeout=600)
    (tmp / MARKER).write_text(_tarball_stamp(tarball))
    shutil.rmtree(root, ignore_errors=True)
    tmp.rename(root)
    _log(f"extracted {tarball.name} to {root} in {time.monotonic() - started:.1f} s")
    return True


def _prepare_rootfs() -> None:
    """What Asterisk needs in the chroot beyond the packages (see the sandbox notes)."""
    root = sandbox_dir()
    hostname = socket.gethostname()
    # Without a hosts entry for this machine PJSIP threads stall on name lookups under
    # load. No resolv.conf: the sandbox needs no DNS.
    hosts = f"127.0.0.1\tlocalhost\n127.0.1.1\t{hostname}\n::1\tlocalhost ip6-localhost\n"
    if _read(root / "etc/hosts") != hosts:
        (root / "etc/hosts").write_text(hosts)
    for d in ("run/asterisk", "var/lib/asterisk", "var/spool/asterisk", "var/log/asterisk",
              "etc/asterisk/keys"):
        (root / d).mkdir(parents=True, exist_ok=True)
    # Files belong to the package's "asterisk" uid, which maps to some other user on the
    # host; Asterisk runs as root in the chroot, and without this ASTdb cannot open.
    for d in ("var/lib/asterisk", "var/spool/asterisk", "var/log/asterisk", "run/asterisk",
              "etc/asterisk"):
        _chown_tree(root / d)
    _ensure_cert(root / "etc/asterisk/keys", hostname)


def _chown_tree(path: Path) -> None:
    for dirpath, dirnames, filenames in os.walk(path):
        for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
            st = os.lstat(name)
            if st.st_uid or st.st_gid:
                os.lchown(name, 0, 0)


def _ensure_cert(keys: Path, hostname: str) -> None:
    """A self-signed certificate for the WSS (WebRTC) listener, generated once."""
    crt, key = keys / "asterisk.crt", keys / "asterisk.key"
    if crt.exists() and key.exists():
        return
    _run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
          "-subj", f"/CN={hostname}", "-addext",
          f"subjectAltName=DNS:{hostname},DNS:localhost,IP:127.0.0.1",
          "-keyout", str(key), "-out", str(crt)], timeout=60)
    os.chmod(key, 0o600)
    _log(f"generated TLS certificate {crt}")


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def install_config(config: Config) -> set[str]:
    """Write the rendered config into the chroot; returns the names of changed files.

    Debian's sample files are removed: anything left in /etc/asterisk could be read by a
    module and change behaviour nobody reviewed.
    """
    etc = sandbox_dir() / "etc/asterisk"
    etc.mkdir(parents=True, exist_ok=True)
    files = render(config, sandbox=True)
    changed: set[str] = set()
    for entry in etc.iterdir():
        if entry.name == "keys" or entry.name in files:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
        changed.add(entry.name)
    for name, text in files.items():
        path = etc / name
        if _read(path) == text:
            continue
        tmp = etc / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        os.chmod(tmp, 0o600 if name in SECRET_FILES else 0o644)
        tmp.replace(path)
        changed.add(name)
    return changed


# --------------------------------------------------------------------------- processes

def asterisk_pids() -> list[int]:
    """PIDs of Asterisk daemons whose root directory is the sandbox (also a deleted one).

    Looked up through /proc rather than a pid file, so an Asterisk left over from an
    earlier run (its pid file gone, its rootfs replaced) is still found and stopped.
    Remote consoles (``asterisk -rx``) are not daemons and are skipped.
    """
    root = os.path.realpath(sandbox_dir())
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "asterisk":
                continue
            proc_root = os.readlink(entry / "root")
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if proc_root.removesuffix(" (deleted)") != root:
            continue
        if any(a.startswith((b"-r", b"-R", b"-x")) for a in argv[1:]):
            continue
        pids.append(int(entry.name))
    return sorted(pids)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie has exited; it only waits for its parent to reap it.
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
            return False
    return True


def _wait_gone(pids: list[int], timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        left = [p for p in pids if _alive(p)]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.1)


def _stop_processes(pids: list[int]) -> None:
    """Stop the given sandbox Asterisk daemons: ``core stop now``, then TERM, then KILL."""
    if not pids:
        return
    # The CLI fails at once when the rootfs it runs from was deleted: then go to signals.
    try:
        asked = _run(["chroot", str(sandbox_dir()), ASTERISK_BIN, "-rx", "core stop now"],
                     timeout=10, check=False, env=CHROOT_ENV).returncode == 0
    except (SandboxError, OSError):
        asked = False
    left = _wait_gone(pids, 8 if asked else 0.5)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        left = _wait_gone(left, 5)
        if not left:
            break
    if left:
        raise SandboxError(f"could not stop Asterisk (pids {left})")
    for name in ("asterisk.ctl", "asterisk.pid"):
        with contextlib.suppress(OSError):
            (sandbox_dir() / "run/asterisk" / name).unlink()


def cli(command: str, check: bool = True, timeout: float = 15) -> str:
    """Run an Asterisk CLI command in the sandbox (``asterisk -rx``); returns its output."""
    proc = _run(["chroot", str(sandbox_dir()), ASTERISK_BIN, "-rx", command],
                timeout=timeout, check=check, env=CHROOT_ENV)
    return proc.stdout


def log_tail(lines: int = 30) -> str:
    path = sandbox_dir() / "var/log/asterisk/messages.log"
    text = _read(path) or ""
    return "\n".join(text.splitlines()[-lines:]) or f"({path} is empty or missing)"


def _start() -> None:
    root = sandbox_dir()
    for name in ("asterisk.ctl", "asterisk.pid"):
        with contextlib.suppress(OSError):
            (root / "run/asterisk" / name).unlink()
    # Without -f Asterisk daemonises itself (closing our pipes), so this returns at once.
    _run(["chroot", str(root), ASTERISK_BIN, "-U", "root", "-G", "root"], timeout=30,
         env=CHROOT_ENV)


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


# --------------------------------------------------------------------------- AMI check

def ami_login_ok(config: Config, timeout: float = 2.0) -> bool:
    """True when the configured AMI user can log in (a plain socket: no event loop needed)."""
    a = config.asterisk
    try:
        with socket.create_connection((a.ami_host, a.ami_port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            buf = b""
            while b"\r\n" not in buf:
                chunk = sock.recv(4096)
                if not chunk:
                    return False
                buf += chunk
            if not buf.startswith(b"Asterisk Call Manager"):
                return False
            login = (f"Action: Login\r\nActionID: kcc-sandbox\r\nUsername: {a.ami_user}\r\n"
                     f"Secret: {config.ami_secret()}\r\nEvents: off\r\n\r\n")
            sock.sendall(login.encode())
            buf = buf.split(b"\r\n", 1)[1]
            while b"\r\n\r\n" not in buf:
                chunk = sock.recv(4096)
                if not chunk:
                    return False
                buf += chunk
            ok = b"Response: Success" in buf.split(b"\r\n\r\n", 1)[0]
            with contextlib.suppress(OSError):
                sock.sendall(b"Action: Logoff\r\n\r\n")
            return ok
    except OSError:
        return False


def wait_for_ami(config: Config, timeout: float = 30.0) -> float:
    """Wait until the AMI login works; returns seconds waited, raises with the log tail."""
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        if ami_login_ok(config):
            return time.monotonic() - started
        if not asterisk_pids() and time.monotonic() - started > 2:
            raise SandboxError("Asterisk exited during start-up. Last lines of its log:\n"
                               + log_tail())
        time.sleep(0.2)
    a = config.asterisk
    raise SandboxError(
        f"AMI login as {a.ami_user!r} on {a.ami_host}:{a.ami_port} did not succeed within "
        f"{timeout:.0f} s (Asterisk pids: {asterisk_pids() or 'none'}). Last lines of the "
        f"Asterisk log:\n{log_tail()}")


# --------------------------------------------------------------------------- commands

def _summary(config: Config) -> str:
    a = config.asterisk
    return f"AMI {a.ami_host}:{a.ami_port} user {a.ami_user}"


def up(config: Config, timeout: float = 40.0) -> str:
    """Build (if needed), configure and start the sandbox; returns the AMI summary line.

    On a running sandbox this only refreshes the config: unchanged config = no-op, a
    changed dialplan/queue/pjsip config = ``core reload``, a changed module/HTTP/core
    config = restart.
    """
    _require_root()
    extracted = ensure_rootfs()
    _prepare_rootfs()
    changed = install_config(config)
    pids = asterisk_pids()
    if pids and extracted:
        _stop_processes(pids)
        pids = []
    if pids:
        if changed & RESTART_FILES:
            _log(f"config changed ({', '.join(sorted(changed))}): restarting Asterisk")
            _stop_processes(pids)
            pids = []
        elif changed:
            _log(f"config changed ({', '.join(sorted(changed))}): core reload")
            cli("core reload")
        if pids:
            try:
                wait_for_ami(config, timeout=10 if changed else 5)
                return _summary(config)
            except SandboxError:
                _log("running Asterisk does not accept the AMI login; restarting it")
                _stop_processes(asterisk_pids())
    a = config.asterisk
    for host, port, what in ((a.ami_host, a.ami_port, "AMI"),):
        if _port_in_use(host, port):
            raise SandboxError(
                f"{what} port {host}:{port} is in use by a process that is not the sandbox "
                f"Asterisk (find it with: ss -ltnp 'sport = :{port}')")
    started = time.monotonic()
    _start()
    waited = wait_for_ami(config, timeout=timeout)
    _log(f"Asterisk up, AMI ready {time.monotonic() - started:.1f} s after start "
         f"(waited {waited:.1f} s)")
    return _summary(config)


def down() -> None:
    """Stop the sandbox Asterisk (``core stop now``, then signals); no-op when stopped."""
    _require_root()
    _stop_processes(asterisk_pids())


def status(config: Config | None = None) -> dict[str, object]:
    """built / running / AMI-ok (AMI only checked when a config says where and who)."""
    pids = asterisk_pids()
    info: dict[str, object] = {
        "rootfs": str(sandbox_dir()),
        "tarball": str(tarball_path()) if tarball_path().exists() else None,
        "built": rootfs_built(),
        "running": bool(pids),
        "pids": pids,
        "ami_ok": ami_login_ok(config) if config is not None else None,
    }
    if pids:
        proc = _run(["chroot", str(sandbox_dir()), ASTERISK_BIN, "-rx", "core show version"],
                    check=False, timeout=10, env=CHROOT_ENV)
        info["version"] = proc.stdout.strip() or None
    return info


def reload(config: Config) -> str:
    """Re-render the config into the sandbox and make the running Asterisk use it.

    Same path as ``up`` on a running sandbox (reload or restart, depending on what
    changed), but refuses to start a stopped one: a reload that silently starts Asterisk
    would hide that it was down.
    """
    _require_root()
    if not asterisk_pids():
        raise SandboxError("the sandbox Asterisk is not running (kcc sandbox up)")
    return up(config)


def main(args: argparse.Namespace) -> int:
    """``kcc sandbox up|down|status|reload --config F``."""
    try:
        if args.action == "down":
            down()
            print("sandbox Asterisk stopped")
            return 0
        config = load_config(args.config)
        if args.action == "up":
            print(up(config))
        elif args.action == "reload":
            print(reload(config))
        else:
            info = status(config)
            for key, value in info.items():
                print(f"{key}: {value}")
            return 0 if info["running"] and info["ami_ok"] else 1
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    except SandboxError as exc:
        print(f"kcc sandbox {args.action}: {exc}", file=sys.stderr)
        return 1
    return 0

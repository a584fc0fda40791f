"""HTTPS for the panel and API (issue 10, finding 9).

The panel carries bearer tokens, BSN search bodies and SIP passwords: they must never
cross a network in clear. ``[service] tls_cert``/``tls_key`` make the service serve
HTTPS itself; without them ``telephony.config`` refuses a non-loopback ``http_host``
unless ``behind_tls_proxy = true`` says a TLS proxy terminates in front of it.
"""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from telephony.config import ServiceSection


def tls_context(service: ServiceSection) -> ssl.SSLContext | None:
    """A server TLS context (TLS 1.2+) from the configured PEM files, or None."""
    if not service.tls_cert or not service.tls_key:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(service.tls_cert, service.tls_key)
    return context


def self_signed(directory: str | Path, hostname: str = "localhost") -> tuple[Path, Path]:
    """A self-signed certificate for the demo (openssl), made once; returns (cert, key)."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    cert, key = out / "kcc-demo.crt", out / "kcc-demo.key"
    if cert.exists() and key.exists():
        return cert, key
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "825",
         "-subj", f"/CN={hostname}", "-addext",
         f"subjectAltName=DNS:{hostname},DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60)
    key.chmod(0o600)
    return cert, key

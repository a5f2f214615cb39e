"""Throwaway PKI for the hermetic API server: CA, server certificate, service-account key, token.

Made with the ``cryptography`` package (pinned in requirements.lock, a wheel with no system dependency)
rather than the ``openssl`` CLI: no subprocess per file, no version-dependent flags (``-addext`` needs
OpenSSL 1.1.1), and it works the same wherever the wheel installs. Everything lives in the state
directory and dies with it; nothing here is ever a credential of a real cluster.
"""

from __future__ import annotations

import datetime
import ipaddress
import secrets
from dataclasses import dataclass
from pathlib import Path

from infergate.core.errors import InfergateError

VALIDITY = datetime.timedelta(days=7)  # a server lives for a test session, not for weeks


@dataclass(frozen=True, slots=True)
class Pki:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    sa_key: Path  # signs service-account tokens (the API server refuses to start without one)
    sa_pub: Path
    token_file: Path  # --token-auth-file: token,user,uid,"groups"
    token: str


def _crypto():  # type: ignore[no-untyped-def]
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError as exc:
        raise InfergateError("the hermetic API server needs the cryptography package: "
                             "pip install 'infergate[apiserver]'") from exc
    return x509, hashes, serialization, ec, NameOID


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def make_pki(directory: Path) -> Pki:
    x509, hashes, serialization, ec, name_oid = _crypto()
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)

    def key_pem(key: object) -> bytes:
        return key.private_bytes(serialization.Encoding.PEM,  # type: ignore[attr-defined]
                                 serialization.PrivateFormat.PKCS8, serialization.NoEncryption())

    def name(common: str) -> object:
        return x509.Name([x509.NameAttribute(name_oid.COMMON_NAME, common)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("infergate-hermetic-ca")).issuer_name(
        name("infergate-hermetic-ca")).public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, encipher_only=False,
                                     decipher_only=False),
                       critical=True)
        .sign(ca_key, hashes.SHA256()))

    server_key = ec.generate_private_key(ec.SECP256R1())
    sans = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost"),
            x509.DNSName("kubernetes.default.svc")]
    server = (x509.CertificateBuilder().subject_name(name("kube-apiserver")).issuer_name(ca.subject)
              .public_key(server_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + VALIDITY)
              .add_extension(x509.SubjectAlternativeName(sans), critical=False)
              .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                             critical=False)
              .sign(ca_key, hashes.SHA256()))

    sa_key = ec.generate_private_key(ec.SECP256R1())
    token = secrets.token_hex(32)
    # system:masters: the one user may do anything (RBAC objects included), as cluster-admin syncs do
    line = f'{token},infergate-admin,infergate-admin,"system:masters"\n'
    token_file = _write(directory / "tokens.csv", line.encode())
    return Pki(
        ca_cert=_write(directory / "ca.crt", ca.public_bytes(serialization.Encoding.PEM)),
        server_cert=_write(directory / "server.crt", server.public_bytes(serialization.Encoding.PEM)),
        server_key=_write(directory / "server.key", key_pem(server_key)),
        sa_key=_write(directory / "sa.key", key_pem(sa_key)),
        sa_pub=_write(directory / "sa.pub", sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)),
        token_file=token_file, token=token)

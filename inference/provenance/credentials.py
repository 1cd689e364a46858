"""C2PA Content Credentials: every note signed as AI-made, and read back by ``govorun verify``.

The manifest says what anyone's C2PA tools should know and nothing about the user: a
``c2pa.created`` action with the IPTC digital source type ``trainedAlgorithmicMedia``, the
generator (Govorun, its version, the engines) and the job id. No photo, no text, no user id.

A signature needs a key and an X.509 certificate chain. An operator brings one from a
certificate authority (``C2PA_CERT``/``C2PA_KEY``); without it each installation issues its own
(:func:`issue_identity`): a private CA and a signing certificate under it. Such a signature
proves the file is unchanged since this installation signed it, but outsiders' tools will call
the signer untrusted, since the CA is on no public trust list.
"""

from __future__ import annotations

import datetime
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from inference.settings import SigningSettings

DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
JOB_ASSERTION = "org.govorun.job"
MIME = "video/mp4"
_PEM_CERT = b"-----BEGIN CERTIFICATE-----"
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----", re.DOTALL)
_YEARS = 10

State = Literal["absent", "invalid", "valid", "trusted"]


class IdentityError(ValueError):
    """The signing key and certificate cannot be used (the message names no secret)."""


@dataclass(frozen=True)
class SigningIdentity:
    """A private key and its certificate chain (signer first, then its issuers), as PEM."""

    key_pem: bytes
    chain_pem: bytes

    @classmethod
    def from_pem(cls, bundle: bytes) -> SigningIdentity:
        """Split one PEM bundle (the key and the chain, in any order) as :meth:`to_pem` writes."""
        blocks = [match.group(0) + b"\n" for match in _PEM_BLOCK.finditer(bundle)]
        keys = [block for block in blocks if b"PRIVATE KEY-----" in block.split(b"\n")[0]]
        certificates = [block for block in blocks if block.startswith(_PEM_CERT)]
        if len(keys) != 1 or not certificates:
            raise IdentityError("a signing identity is one private key and its certificates")
        return cls(key_pem=keys[0], chain_pem=b"".join(certificates))

    def to_pem(self) -> bytes:
        return self.key_pem + self.chain_pem

    @property
    def chain(self) -> list[x509.Certificate]:
        return x509.load_pem_x509_certificates(self.chain_pem)

    @property
    def root_pem(self) -> bytes:
        """The last certificate of the chain: what a verifier adds to its trust anchors."""
        return self.chain[-1].public_bytes(serialization.Encoding.PEM)

    @property
    def signer_name(self) -> str:
        return _name(self.chain[0].subject)

    @property
    def issuer_name(self) -> str:
        return _name(self.chain[0].issuer)

    def check(self) -> None:
        """Raise :class:`IdentityError` unless the key belongs to the first certificate."""
        try:
            key = serialization.load_pem_private_key(self.key_pem, password=None)
        except (ValueError, TypeError) as error:
            raise IdentityError("the signing key is not an unencrypted PEM key") from error
        certificate = (
            self.chain[0]
            .public_key()
            .public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if certificate != public:
            raise IdentityError("the signing key does not belong to the certificate")
        _algorithm(key)


def issue_identity(name: str = "Govorun installation") -> SigningIdentity:
    """A private CA and a signing certificate under it: this installation's own identity.

    C2PA wants an end-entity certificate (not a CA, digitalSignature, an e-mail-protection or
    document-signing EKU) issued by another certificate, so there are two.
    """
    now = datetime.datetime.now(datetime.UTC)
    suffix = os.urandom(4).hex()  # tells installations apart in a verifier's report
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _x509_name(f"{name} {suffix} CA")
    ca = (
        _certificate(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(key_cert_sign=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    signer = (
        _certificate(_x509_name(f"{name} {suffix}"), ca_name, key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(digital_signature=True), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pem = serialization.Encoding.PEM
    return SigningIdentity(key_pem, signer.public_bytes(pem) + ca.public_bytes(pem))


class NoteSigner:
    """Signs finished notes in place with one identity; safe to share between threads."""

    def __init__(self, identity: SigningIdentity, version: str) -> None:
        identity.check()
        self.identity = identity
        self.version = version
        self._algorithm = _algorithm(serialization.load_pem_private_key(identity.key_pem, None))

    def sign(self, path: Path, *, job_id: str, engines: dict[str, str]) -> None:
        """Embed a signed manifest in the MP4 at ``path`` (replaced whole, never half-written).

        The manifest goes into a ``uuid`` box after ``ftyp``, so ``moov`` still comes before
        ``mdat`` (the encoder's faststart layout).
        """
        # The native signer is not documented as thread-safe: one per note costs ~1 ms.
        info = c2pa.C2paSignerInfo(
            self._algorithm, self.identity.chain_pem, self.identity.key_pem, None
        )
        signed = path.with_name(f"{path.name}.signed")
        try:
            with (
                c2pa.Signer.from_info(info) as signer,
                c2pa.Builder(self._manifest(job_id, engines)) as builder,
                path.open("rb") as source,
                signed.open("w+b") as target,
            ):
                builder.sign(signer, MIME, source, target)
            os.replace(signed, path)
        finally:
            signed.unlink(missing_ok=True)

    def _manifest(self, job_id: str, engines: dict[str, str]) -> dict[str, Any]:
        agent = {"name": "Govorun", "version": self.version}
        used = ", ".join(f"{stage}={engine}" for stage, engine in engines.items())
        created = {
            "action": "c2pa.created",
            "digitalSourceType": DIGITAL_SOURCE_TYPE,
            "softwareAgent": agent,
            "parameters": {"engines": used},
        }
        return {
            "claim_generator_info": [agent],
            "title": "Govorun video note",
            "format": MIME,
            "assertions": [
                {"label": "c2pa.actions", "data": {"actions": [created]}},
                {"label": JOB_ASSERTION, "data": {"job_id": job_id}},
            ],
        }


@dataclass(frozen=True)
class CredentialsReport:
    """What a note's C2PA manifest says, and whether it still matches the file."""

    state: State
    signer: str = ""
    issuer: str = ""
    ai_generated: bool = False
    generator: str = ""
    job_id: str = ""
    failures: tuple[str, ...] = ()

    @property
    def altered(self) -> bool:
        """The manifest is there but no longer matches the file's bytes (or is broken)."""
        return self.state == "invalid"


def read_credentials(path: Path, trust_anchors: bytes = b"") -> CredentialsReport:
    """Read and validate the manifest in ``path``; ``trust_anchors`` are PEM root certificates
    a signature may chain to (without them the best a valid signature gets is ``valid``)."""
    settings: dict[str, Any] = {"verify": {"verify_trust": True}}
    if trust_anchors:
        settings["trust"] = {"trust_anchors": trust_anchors.decode()}
    try:
        with (
            c2pa.Context.from_dict(settings) as context,
            path.open("rb") as stream,
            c2pa.Reader(MIME, stream, context=context) as reader,
        ):
            manifest = reader.get_active_manifest() or {}
            state = (reader.get_validation_state() or "Invalid").lower()
            results = reader.get_validation_results() or {}
    except c2pa.C2paError as error:
        if "ManifestNotFound" in type(error).__name__ or "no JUMBF" in str(error):
            return CredentialsReport("absent")
        return CredentialsReport("invalid", failures=(type(error).__name__.lstrip("_"),))
    return _report(manifest, state, results)


def _report(manifest: dict[str, Any], state: str, results: dict[str, Any]) -> CredentialsReport:
    failures = tuple(
        item["code"]
        for item in results.get("activeManifest", {}).get("failure", [])
        if item.get("code") != "signingCredential.untrusted"  # said by the state instead
    )
    assertions = {item["label"]: item.get("data", {}) for item in manifest.get("assertions", [])}
    actions = assertions.get("c2pa.actions.v2", assertions.get("c2pa.actions", {}))
    ai = any(
        a.get("action") == "c2pa.created" and a.get("digitalSourceType") == DIGITAL_SOURCE_TYPE
        for a in actions.get("actions", [])
    )
    generators = manifest.get("claim_generator_info") or [{}]
    generator = " ".join(str(generators[0].get(k, "")) for k in ("name", "version")).strip()
    signature = manifest.get("signature_info", {})
    return CredentialsReport(
        state="invalid" if failures or state not in ("valid", "trusted") else state,  # type: ignore[arg-type]
        signer=str(signature.get("common_name", "")),
        issuer=str(signature.get("issuer", "")),
        ai_generated=ai,
        generator=generator,
        job_id=str(assertions.get(JOB_ASSERTION, {}).get("job_id", "")),
        failures=failures,
    )


def load_pem(value: str) -> bytes:
    """PEM given inline (an env variable) or as a path to a file holding it."""
    if "-----BEGIN" in value:
        return value.encode()
    try:
        return Path(value).expanduser().read_bytes()
    except OSError as error:
        raise IdentityError(f"cannot read {value}: {error.strerror}") from error


def operator_identity(settings: SigningSettings) -> SigningIdentity | None:
    """The operator's key and certificate, or None when neither is set."""
    if settings.cert is None and settings.key is None:
        return None
    if settings.cert is None or settings.key is None:
        raise IdentityError("set both C2PA_CERT and C2PA_KEY, or neither")
    key = load_pem(settings.key.get_secret_value())
    identity = SigningIdentity.from_pem(key + b"\n" + load_pem(settings.cert))
    identity.check()
    return identity


def local_identity(settings: SigningSettings) -> SigningIdentity:
    """The command line's identity: the operator's, else this machine's own (made once)."""
    path = settings.identity_file.expanduser()
    found = operator_identity(settings) or load_identity_file(path)
    return found or keep_identity_file(path, issue_identity())


def trust_anchors(settings: SigningSettings, identity: SigningIdentity | None) -> bytes:
    """Roots ``govorun verify`` trusts: the operator's list and this installation's own CA."""
    configured = load_pem(settings.trust_anchors) if settings.trust_anchors else b""
    return configured + (identity.root_pem if identity else b"")


def load_identity_file(path: Path) -> SigningIdentity | None:
    try:
        return SigningIdentity.from_pem(path.read_bytes())
    except FileNotFoundError:
        return None


def keep_identity_file(path: Path, identity: SigningIdentity) -> SigningIdentity:
    """Write ``identity`` to ``path`` (owner-only) unless another process wrote one first;
    return the one that is kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        kept = load_identity_file(path)
        assert kept is not None
        return kept
    with os.fdopen(fd, "wb") as file:
        file.write(identity.to_pem())
    return identity


def describe(report: CredentialsReport) -> list[str]:
    """Lines for ``govorun verify``: the manifest's state in words, then what it claims."""
    if report.state == "absent":
        return ["content credentials: none (never signed, or stripped by re-encoding)"]
    if report.altered:
        why = ", ".join(report.failures) or "the manifest is broken"
        return [f"content credentials: INVALID: the file was changed after signing ({why})"]
    trust = (
        "trusted: the signer chains to a trust anchor you gave"
        if report.state == "trusted"
        else "valid: unchanged since signing; the signer is on no trust list you gave"
    )
    return [
        f"content credentials: {trust}",
        f"  signed by: {report.signer} (issuer: {report.issuer})",
        f"  AI-generated: {'yes (trainedAlgorithmicMedia)' if report.ai_generated else 'no'}",
        f"  generator: {report.generator}",
        f"  job: {report.job_id or 'not said'}",
    ]


def _algorithm(key: object) -> c2pa.C2paSigningAlg:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        by_curve = {256: c2pa.C2paSigningAlg.ES256, 384: c2pa.C2paSigningAlg.ES384}
        if key.curve.key_size in by_curve:
            return by_curve[key.curve.key_size]
        return c2pa.C2paSigningAlg.ES512
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return c2pa.C2paSigningAlg.ED25519
    if isinstance(key, rsa.RSAPrivateKey):
        return c2pa.C2paSigningAlg.PS256
    raise IdentityError("the signing key must be EC (P-256/384/521), Ed25519 or RSA")


def _x509_name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Govorun (self-issued)"),
        ]
    )


def _name(name: x509.Name) -> str:
    found = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(found[0].value) if found else name.rfc4514_string()


def _certificate(
    subject: x509.Name, issuer: x509.Name, public: Any, now: datetime.datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365 * _YEARS))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )


def _usage(*, digital_signature: bool = False, key_cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=key_cert_sign,
        encipher_only=False,
        decipher_only=False,
    )

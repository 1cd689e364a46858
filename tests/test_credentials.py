"""C2PA Content Credentials: signed on every note, read back with the CAI's own reader."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from redis.asyncio import Redis

from core import keys
from govorun.cli import main
from inference.media.probe import probe, top_level_boxes
from inference.pipeline import Renderer
from inference.provenance import (
    IdentityError,
    NoteSigner,
    SigningIdentity,
    issue_identity,
    read_credentials,
    verify_file,
)
from inference.provenance.credentials import local_identity, operator_identity
from inference.settings import RenderSettings, SigningSettings
from tests.test_provenance import reencode
from worker.signing import installation_identity

TEXT = "Секретная фраза для проверки."


@pytest.fixture(scope="module")
def identity() -> SigningIdentity:
    return issue_identity()


@pytest.fixture(scope="module")
def note(
    identity: SigningIdentity, astronaut_png: bytes, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    """A real note, rendered and signed by the pipeline; its job id.

    The id is fixed: how much a short 320 px note's mark survives a re-encode depends on the
    id's bits, and about one random id in a hundred loses it at CRF 23 (README, Responsible
    use). This one's margin is an ordinary one (6 % of the coded bits flipped at CRF 23).
    """
    out = tmp_path_factory.mktemp("signed") / "note.mp4"
    renderer = Renderer(RenderSettings(size=320), signer=NoteSigner(identity, "9.9.9"))
    result = renderer.render(astronaut_png, out, text=TEXT, job_id="note-0123456789abcdef0123")
    return out, result.job_id


def test_manifest_says_ai_made_and_names_the_job(
    note: tuple[Path, str], identity: SigningIdentity
) -> None:
    path, job_id = note
    read = read_credentials(path)
    assert read.state == "valid"  # intact, but nobody was told to trust our CA
    assert read.ai_generated and read.job_id == job_id
    assert read.generator == "Govorun 9.9.9"
    assert read.signer == identity.signer_name
    assert read_credentials(path, identity.root_pem).state == "trusted"
    assert read_credentials(path, issue_identity().root_pem).state == "valid"


def test_manifest_carries_no_user_text(note: tuple[Path, str]) -> None:
    data = note[0].read_bytes()
    assert "Секретная".encode() not in data and b"astronaut" not in data


def test_signed_note_keeps_the_video_note_layout(note: tuple[Path, str]) -> None:
    path = note[0]
    boxes = top_level_boxes(path)
    assert boxes[:2] == ["ftyp", "uuid"]  # the manifest, ahead of everything it covers
    assert boxes.index("moov") < boxes.index("mdat")
    info = probe(path)
    assert info.faststart and (info.width, info.height) == (320, 320)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert 0.5 < info.duration <= 60 and info.frames > 10
    assert sorted(p.name for p in path.parent.iterdir()) == ["note.mp4"]  # no temporaries


def test_one_changed_byte_of_the_video_fails_validation(
    note: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = bytearray(note[0].read_bytes())
    data[data.find(b"mdat") + 4000] ^= 0x01
    altered = tmp_path / "altered.mp4"
    altered.write_bytes(data)
    read = read_credentials(altered)
    assert read.state == "invalid" and "assertion.bmffHash.mismatch" in read.failures
    assert main(["verify", str(altered)]) == 3
    assert "ALTERED" in capsys.readouterr().out


def test_reencoded_copy_loses_the_manifest_but_keeps_the_watermark(
    note: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, job_id = note
    copy = reencode(path, tmp_path / "copy.mp4", options={"crf": 23})
    assert read_credentials(copy).state == "absent"
    assert verify_file(copy) == job_id
    assert main(["verify", str(copy)]) == 0
    printed = capsys.readouterr().out
    assert "content credentials: none" in printed and f"watermark: {job_id}" in printed
    assert "re-encoded" in printed


def test_cli_verify_reports_the_manifest(
    note: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, job_id = note
    assert main(["verify", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "content credentials: valid" in printed
    assert "AI-generated: yes" in printed and f"job: {job_id}" in printed
    assert "unchanged since it was made" in printed


def test_cli_signs_with_one_identity_kept_for_this_machine(
    astronaut_png: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = tmp_path / "me.png"
    photo.write_bytes(astronaut_png)
    outputs = [tmp_path / "a.mp4", tmp_path / "b.mp4"]
    for out in outputs:
        args = ["render", "--photo", str(photo), "--text", "Да.", "--size", "240", "-o", str(out)]
        assert main(args) == 0
    kept = SigningSettings().identity_file
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    identity = SigningIdentity.from_pem(kept.read_bytes())
    for out in outputs:
        assert read_credentials(out, identity.root_pem).state == "trusted"
    # verify trusts this machine's own root without being told.
    capsys.readouterr()
    assert main(["verify", str(outputs[0])]) == 0
    assert "content credentials: trusted" in capsys.readouterr().out


def _write_operator_files(folder: Path) -> tuple[Path, Path, SigningIdentity]:
    identity = issue_identity("Example Newsroom")
    cert, key = folder / "chain.pem", folder / "key.pem"
    cert.write_bytes(identity.chain_pem)
    key.write_bytes(identity.key_pem)
    return cert, key, identity


def test_operator_identity_from_paths_or_pem(tmp_path: Path) -> None:
    cert, key, identity = _write_operator_files(tmp_path)
    from_paths = operator_identity(SigningSettings(cert=str(cert), key=str(key)))
    assert from_paths == identity
    inline = SigningSettings(cert=identity.chain_pem.decode(), key=identity.key_pem.decode())
    assert operator_identity(inline) == identity
    # The command line signs with it, not with an identity of its own.
    settings = SigningSettings(cert=str(cert), key=str(key), identity_file=tmp_path / "own.pem")
    assert local_identity(settings) == identity and not (tmp_path / "own.pem").exists()
    assert operator_identity(SigningSettings()) is None


@pytest.mark.parametrize(
    "broken",
    ["cert only", "key only", "foreign key", "missing file"],
)
def test_unusable_operator_identity_is_refused_without_its_secret(
    tmp_path: Path, broken: str
) -> None:
    cert, key, _ = _write_operator_files(tmp_path)
    foreign = tmp_path / "foreign.pem"
    other = ec.generate_private_key(ec.SECP256R1())
    foreign.write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    values = {
        "cert only": {"cert": str(cert)},
        "key only": {"key": str(key)},
        "foreign key": {"cert": str(cert), "key": str(foreign)},
        "missing file": {"cert": str(tmp_path / "nope.pem"), "key": str(key)},
    }[broken]
    with pytest.raises(IdentityError) as raised:
        operator_identity(SigningSettings(**values))  # type: ignore[arg-type]
    assert "PRIVATE KEY" not in str(raised.value)


def test_cli_render_refuses_an_unusable_identity(
    astronaut_png: bytes,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cert, _, _ = _write_operator_files(tmp_path)
    monkeypatch.setenv("C2PA_CERT", str(cert))
    photo = tmp_path / "me.png"
    photo.write_bytes(astronaut_png)
    out = tmp_path / "note.mp4"
    assert main(["render", "--photo", str(photo), "--text", "Да.", "-o", str(out)]) == 2
    assert "C2PA_CERT and C2PA_KEY" in capsys.readouterr().err
    assert not out.exists()


async def test_workers_of_one_installation_share_one_identity(redis_url: str) -> None:
    clients = [Redis.from_url(redis_url) for _ in range(4)]
    try:
        found = await asyncio.gather(*(installation_identity(c) for c in clients))
        assert len({identity.to_pem() for identity in found}) == 1
        assert await clients[0].get(keys.SIGNING_IDENTITY()) == found[0].to_pem()
        found[0].check()
    finally:
        for client in clients:
            await client.aclose()

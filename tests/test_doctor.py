"""``govorun doctor`` against a real Redis and a fake Bot API (the one simulated edge)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import redis

from govorun import doctor
from govorun.cli import main
from inference.engines import SILERO_MODEL
from inference.models import ModelStore
from testkit.fake_telegram import FakeTelegram
from testkit.redis_server import PersistentRedis
from tests.model_files import record_in_lock
from tests.neural import need

TOKEN = "515151:DOCTOR-SECRET-TOKEN"


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """An environment of the test's own: empty MODELS_DIR, no SadTalker, engines on auto."""
    monkeypatch.setenv("MODELS_DIR", str(tmp_path / "models"))
    for name in ("SADTALKER_HOME", "RENDER_TTS_ENGINE", "RENDER_ANIMATOR"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


async def doctor_json(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any], str]:
    code = await asyncio.to_thread(main, ["doctor", "--json"])
    captured = capsys.readouterr()
    return code, json.loads(captured.out), captured.out + captured.err


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {check["name"]: check["status"] for check in report["checks"]}


async def test_a_ready_host_passes_and_names_the_bot(
    host: pytest.MonkeyPatch, persistent_redis: PersistentRedis, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FakeTelegram(token=TOKEN) as tg:
        host.setenv("REDIS_URL", persistent_redis.url)
        host.setenv("BOT_TOKEN", TOKEN)
        host.setenv("TELEGRAM_API_BASE", tg.base_url)
        code, report, printed = await doctor_json(capsys)
        assert tg.calls_of("getMe")
    assert code == 0 and report["ok"] is True
    found = statuses(report)
    for name in ("redis", "redis-aof", "telegram", "espeak", "face", "engines", "disk-temp"):
        assert found[name] == "OK", report
    telegram = next(c for c in report["checks"] if c["name"] == "telegram")
    assert "@govorun_test_bot" in telegram["detail"]
    engines = next(c for c in report["checks"] if c["name"] == "engines")
    assert "tts=espeak" in engines["detail"] and "animator=warp" in engines["detail"]
    assert TOKEN.split(":")[1] not in printed


async def test_aof_off_is_a_warning_with_the_command_that_fixes_it(
    host: pytest.MonkeyPatch, persistent_redis: PersistentRedis, capsys: pytest.CaptureFixture[str]
) -> None:
    redis.Redis.from_url(persistent_redis.url).config_set("appendonly", "no")
    async with FakeTelegram(token=TOKEN) as tg:
        host.setenv("REDIS_URL", persistent_redis.url)
        host.setenv("BOT_TOKEN", TOKEN)
        host.setenv("TELEGRAM_API_BASE", tg.base_url)
        code, report, _ = await doctor_json(capsys)
    aof = next(c for c in report["checks"] if c["name"] == "redis-aof")
    assert aof["status"] == "WARN" and "appendonly yes" in aof["fix"]
    assert code == 0  # a warning alone does not fail the host


async def test_a_rejected_token_fails_and_is_never_printed(
    host: pytest.MonkeyPatch, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async with FakeTelegram(token="999:THE-REAL-ONE") as tg:
        host.setenv("REDIS_URL", redis_url)
        host.setenv("BOT_TOKEN", TOKEN)
        host.setenv("TELEGRAM_API_BASE", tg.base_url)
        code = await asyncio.to_thread(main, ["doctor"])
        assert [call.status for call in tg.calls_of("getMe")] == [401]
    captured = capsys.readouterr()
    assert code == 1
    line = next(line for line in captured.out.splitlines() if " telegram " in line)
    assert line.startswith("FAIL") and "401" in line and "fix: set BOT_TOKEN" in line
    assert next(line for line in captured.out.splitlines() if " redis " in line).startswith("OK")
    for secret in (TOKEN, TOKEN.split(":")[1]):
        assert secret not in captured.out and secret not in captured.err


async def test_unreachable_redis_and_unset_token_fail_with_exit_1(
    host: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    host.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    host.setenv("BOT_TOKEN", "")
    code, report, _ = await doctor_json(capsys)
    assert code == 1 and report["ok"] is False
    found = {c["name"]: c for c in report["checks"]}
    assert found["redis"]["status"] == "FAIL" and "REDIS_URL" in found["redis"]["fix"]
    assert "redis-aof" not in found  # nothing to ask an unreachable server
    assert found["telegram"]["status"] == "FAIL"
    assert found["telegram"]["fix"].startswith("set BOT_TOKEN")
    assert found["espeak"]["status"] == "OK"  # the other checks still ran


def test_a_redis_password_is_masked() -> None:
    shown = doctor.masked_url("redis://app:hunter22@cache.internal:6380/2")
    assert shown == "redis://app:***@cache.internal:6380/2"
    finding = doctor.check_redis("redis://app:hunter22@127.0.0.1:1/0")[0]
    assert finding.status == "FAIL" and "hunter22" not in finding.detail + finding.fix


def test_little_free_space_is_a_warning(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(doctor, "MIN_FREE_BYTES", 1 << 62)  # more than any disk holds
    monkeypatch.setenv("MODELS_DIR", str(tmp_path / "not" / "made" / "yet"))
    models, temp = doctor.check_disk()
    assert models.status == temp.status == "WARN"
    assert "MODELS_DIR" in models.fix and "TMPDIR" in temp.fix
    assert str(tmp_path / "not" / "made" / "yet") in models.detail


def test_self_issued_signing_is_a_warning_naming_the_fix(redis_url: str) -> None:
    from core import keys
    from inference.provenance import issue_identity

    before = doctor.check_signing(redis_url)
    assert before.status == "WARN" and "first worker will issue" in before.detail
    identity = issue_identity()
    redis.Redis.from_url(redis_url).set(keys.SIGNING_IDENTITY(), identity.to_pem())
    after = doctor.check_signing(redis_url)
    assert after.status == "WARN" and identity.signer_name in after.detail
    assert "untrusted" in after.detail and "C2PA_CERT and C2PA_KEY" in after.fix


def test_operator_certificate_is_used_and_a_broken_one_fails(
    host: pytest.MonkeyPatch, redis_url: str, tmp_path: Path
) -> None:
    from inference.provenance import issue_identity

    identity = issue_identity("Example Newsroom")
    (tmp_path / "chain.pem").write_bytes(identity.chain_pem)
    host.setenv("C2PA_CERT", str(tmp_path / "chain.pem"))
    host.setenv("C2PA_KEY", identity.key_pem.decode())
    found = doctor.check_signing(redis_url)
    assert found.status == "OK" and identity.signer_name in found.detail
    host.setenv("C2PA_KEY", issue_identity().key_pem.decode())  # another certificate's key
    broken = doctor.check_signing(redis_url)
    assert broken.status == "FAIL" and "does not belong" in broken.detail
    assert "PRIVATE KEY" not in broken.detail + broken.fix


def test_a_neural_engine_that_fails_to_load_is_shown_with_the_reason(
    host: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Silero's weights are present and verified but broken: on auto the worker would start on
    eSpeak (WARN, with why); named explicitly it would not start at all (FAIL)."""
    need("torch", "Silero is only chosen where torch is installed")
    store = ModelStore(tmp_path / "models")
    path = store.path(SILERO_MODEL)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x00not a torch package" * 100)
    record_in_lock(store, SILERO_MODEL)
    engines = next(f for f in doctor.check_engines() if f.name == "engines")
    assert engines.status == "WARN"
    assert engines.detail.startswith("tts=espeak, animator=warp")
    assert "Silero failed to load: RenderError: engine_unavailable" in engines.detail
    assert engines.fix
    host.setenv("RENDER_TTS_ENGINE", "silero")
    engines = next(f for f in doctor.check_engines() if f.name == "engines")
    assert engines.status == "FAIL"
    assert "RENDER_TTS_ENGINE=silero failed to load: RenderError" in engines.fix

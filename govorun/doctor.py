"""``govorun doctor``: can this host run the bot and the worker? One line per check.

Each check ends OK, WARN (runs, but not as it should in production) or FAIL (will not run),
and anything not OK names its fix: a command to run or a variable to set. Exit code 0 when
nothing FAILed, 1 otherwise; ``--json`` prints the same as one object for scripts.

Secrets never reach the output: the token is only handed to aiogram, a Redis password is
masked in the URL shown, and every line is scrubbed of both before it is printed.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit, urlunsplit

import redis

from core.config import RedisSettings, TelegramSettings

if TYPE_CHECKING:
    from inference.models import ModelStore

Status = Literal["OK", "WARN", "FAIL"]
MIN_FREE_BYTES = 2 * 1024**3
_GIB = 1024**3
_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Finding:
    name: str
    status: Status
    detail: str
    fix: str = ""


def run_checks() -> list[Finding]:
    telegram = TelegramSettings()
    redis_url = RedisSettings().redis_url
    findings = [
        *check_redis(redis_url),
        check_telegram(telegram),
        *check_engines(),
        check_signing(redis_url),
        *check_disk(),
    ]
    token = telegram.bot_token.get_secret_value()
    secrets = [token, token.partition(":")[2], urlsplit(redis_url).password or ""]
    return [_scrubbed(finding, secrets) for finding in findings]


def report(findings: list[Finding], *, as_json: bool) -> int:
    failed = any(finding.status == "FAIL" for finding in findings)
    if as_json:
        checks = [asdict(finding) for finding in findings]
        print(json.dumps({"ok": not failed, "checks": checks}, ensure_ascii=False, indent=2))
    else:
        width = max(len(finding.name) for finding in findings)
        for finding in findings:
            line = f"{finding.status:<4}  {finding.name:<{width}}  {finding.detail}"
            print(f"{line}  → fix: {finding.fix}" if finding.fix else line)
    return 1 if failed else 0


# --- Redis --------------------------------------------------------------------------------


def check_redis(url: str) -> list[Finding]:
    shown = masked_url(url)
    client = redis.Redis.from_url(
        url, socket_connect_timeout=_TIMEOUT_S, socket_timeout=_TIMEOUT_S
    )
    try:
        try:
            client.ping()
        except (redis.RedisError, OSError) as error:
            fix = "start Redis there, or set REDIS_URL to the Redis every bot and worker share"
            return [Finding("redis", "FAIL", f"{shown} unreachable: {error}", fix)]
        reachable = Finding("redis", "OK", f"{shown} answers")
        return [reachable, _persistence(client)]
    finally:
        client.close()


def _persistence(client: redis.Redis) -> Finding:
    """Quotas, bans and queued jobs live in Redis: without AOF a restart loses them."""
    fix = "redis-cli CONFIG SET appendonly yes, and `appendonly yes` in redis.conf"
    try:
        setting = client.config_get("appendonly").get("appendonly")  # type: ignore[union-attr]
    except redis.RedisError:  # managed Redis services often disable CONFIG
        detail = "cannot read the appendonly setting (CONFIG disabled?)"
        return Finding("redis-aof", "WARN", detail, "make sure the service keeps AOF on")
    if setting == b"yes" or setting == "yes":
        return Finding("redis-aof", "OK", "AOF persistence is on")
    return Finding("redis-aof", "WARN", "AOF persistence is off: a restart loses state", fix)


def masked_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


# --- Telegram ------------------------------------------------------------------------------


def check_telegram(settings: TelegramSettings) -> Finding:
    from aiogram.exceptions import TelegramNetworkError, TelegramUnauthorizedError

    base = settings.telegram_api_base or "https://api.telegram.org"
    if not settings.bot_token.get_secret_value():
        return Finding("telegram", "FAIL", "BOT_TOKEN is not set", "set BOT_TOKEN (@BotFather)")
    try:
        name = asyncio.run(_bot_name(settings))
    except TelegramUnauthorizedError:
        detail = f"{base} rejects BOT_TOKEN (401 Unauthorized)"
        return Finding("telegram", "FAIL", detail, "set BOT_TOKEN to the token from @BotFather")
    except (TelegramNetworkError, TimeoutError, OSError) as error:
        detail = f"{base} unreachable: {type(error).__name__}"
        fix = "check the network, or set TELEGRAM_API_BASE to your local Bot API server"
        return Finding("telegram", "FAIL", detail, fix)
    except Exception as error:  # any other Bot API answer: report its kind, not a traceback
        detail = f"getMe failed at {base}: {type(error).__name__}"
        return Finding("telegram", "FAIL", detail, "check BOT_TOKEN and TELEGRAM_API_BASE")
    return Finding("telegram", "OK", f"{base} knows the bot as @{name}")


async def _bot_name(settings: TelegramSettings) -> str:
    from core.telegram import create_bot

    bot = create_bot(settings)
    try:
        me = await bot.get_me(request_timeout=int(_TIMEOUT_S))
    finally:
        await bot.session.close()
    return me.username or str(me.id)


# --- Engines -------------------------------------------------------------------------------


def check_engines() -> list[Finding]:
    from inference.engines import SILERO_MODEL
    from inference.models import ModelStore

    store = ModelStore.from_settings()
    torch_version = _torch_version()
    silero = store.check(SILERO_MODEL)
    return [
        _espeak(),
        _face(),
        _torch(torch_version),
        _silero(silero.state, silero.detail, SILERO_MODEL, torch=torch_version is not None),
        _cuda(torch_version is not None),
        _choice(store),
    ]


def _espeak() -> Finding:
    try:
        from inference.tts.espeak import EspeakEngine

        voices = EspeakEngine().voices()
    except Exception as error:
        fix = "pip install --force-reinstall espeakng-loader"
        return Finding("espeak", "FAIL", f"eSpeak NG does not load: {error}", fix)
    return Finding("espeak", "OK", f"eSpeak NG loads ({len(voices)} voices)")


def _face() -> Finding:
    try:
        from inference.face import FaceAnalyzer

        FaceAnalyzer()
    except Exception as error:
        fix = "pip install --force-reinstall dlib-bin face-recognition-models"
        return Finding("face", "FAIL", f"dlib face models do not load: {error}", fix)
    return Finding("face", "OK", "dlib face models load")


def _torch_version() -> str | None:
    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    return str(torch.__version__)


def _torch(version: str | None) -> Finding:
    if version is None:
        return Finding("torch", "OK", "not installed: eSpeak NG and warp only (optional extra)")
    return Finding("torch", "OK", f"torch {version} (neural extra installed)")


def _silero(state: str, detail: str, name: str, *, torch: bool) -> Finding:
    download = f"govorun models download {name}"
    if state == "ok":
        if torch:
            return Finding("silero", "OK", f"{name} weights present and verified")
        fix = "pip install 'govorun[neural]'"
        return Finding("silero", "WARN", "weights present but torch is not installed", fix)
    if not torch:
        return Finding("silero", "OK", "weights not present (not needed without torch)")
    found = f"{name} weights {state}" + (f": {detail}" if detail else "")
    return Finding("silero", "WARN", found, download)


def _cuda(torch: bool) -> Finding:
    if not torch:
        return Finding("cuda", "OK", "not checked (no torch): renders run on the CPU")
    import torch as torch_module

    if not torch_module.cuda.is_available():
        return Finding("cuda", "OK", "no CUDA device: renders run on the CPU")
    return Finding("cuda", "OK", f"CUDA device: {torch_module.cuda.get_device_name(0)}")


def _choice(store: ModelStore) -> Finding:
    """Which engines the worker will load, by the rules of ``inference.engines``.

    A neural engine that the settings pick is loaded here as the worker would load it, so that
    a checkpoint or package that is present but broken shows up: on ``auto`` the worker falls
    back to the embedded engine (WARN, with the reason), named explicitly it would not start
    (FAIL).
    """
    from pydantic import ValidationError

    from inference.engines import (
        choose_animator,
        choose_tts,
        load_animator,
        load_tts,
        silero_ready,
    )
    from inference.settings import RenderSettings

    try:
        settings = RenderSettings()
    except ValidationError as error:
        fix = "correct the RENDER_ variables (see .env.example)"
        return Finding("engines", "FAIL", f"{error.error_count()} invalid RENDER_ settings", fix)
    problems: list[str] = []
    fallbacks: list[str] = []
    tts = choose_tts(settings.tts_engine, store)
    if settings.tts_engine == "silero" and not silero_ready(store):
        problems.append("RENDER_TTS_ENGINE=silero needs torch and the Silero weights (see above)")
    elif tts == "silero" and (failed := _load_failure(load_tts, settings.tts_engine, store)):
        if settings.tts_engine == "auto":
            tts = "espeak"
            fallbacks.append(f"Silero {failed}")
        else:
            problems.append(f"RENDER_TTS_ENGINE=silero {failed}")
    animator, missing = choose_animator(settings.animator, store)
    if settings.animator == "sadtalker" and missing:
        problems.append(f"RENDER_ANIMATOR=sadtalker cannot load: {missing}")
    elif animator == "sadtalker" and (
        failed := _load_failure(load_animator, settings.animator, store)
    ):
        if settings.animator == "auto":
            animator = "warp"
            fallbacks.append(f"SadTalker {failed}")
        else:
            problems.append(f"RENDER_ANIMATOR=sadtalker {failed}")
    detail = f"tts={tts}, animator={animator}"
    if missing and settings.animator == "auto":
        detail += f" (SadTalker: {missing})"
    if problems:
        fix = "; ".join(problems) + ", or set them to auto"
        return Finding("engines", "FAIL", detail, fix)
    if fallbacks:
        detail += " (" + "; ".join(fallbacks) + ")"
        fix = "fix what failed (reinstall the neural extra, `govorun models download --force`)"
        return Finding("engines", "WARN", detail, fix)
    return Finding("engines", "OK", detail)


def _load_failure(
    load: Callable[[str, ModelStore], tuple[object, str | None]], setting: str, store: ModelStore
) -> str | None:
    """Why the neural engine ``setting`` stands for does not load here (None when it loads)."""
    from inference.engines import failure

    try:
        _, fallback = load(setting, store)
    except Exception as error:  # an engine named explicitly raises instead of falling back
        return f"failed to load: {failure(error)}"
    return fallback


# --- Content Credentials ------------------------------------------------------------------


def check_signing(redis_url: str) -> Finding:
    """Whose certificate signs the notes' C2PA manifests, and what outsiders' tools will say."""
    from core import keys
    from inference.provenance import IdentityError, SigningIdentity
    from inference.provenance.credentials import operator_identity
    from inference.settings import SigningSettings

    try:
        identity = operator_identity(SigningSettings())
    except IdentityError as error:
        fix = "C2PA_CERT: the PEM chain, signer first; C2PA_KEY: its unencrypted PEM key"
        return Finding("c2pa", "FAIL", f"cannot sign with C2PA_CERT/C2PA_KEY: {error}", fix)
    if identity is not None:
        detail = f"notes signed by {identity.signer_name} (issuer: {identity.issuer_name})"
        return Finding("c2pa", "OK", detail)
    try:
        client = redis.Redis.from_url(redis_url, socket_connect_timeout=_TIMEOUT_S)
        stored = client.get(keys.SIGNING_IDENTITY())
    except redis.RedisError:
        stored = None
    who = (
        SigningIdentity.from_pem(stored).signer_name  # type: ignore[arg-type]
        if stored
        else "one the first worker will issue"
    )
    detail = (
        f"self-issued certificate ({who}): C2PA tools show notes as AI-made and unaltered, "
        "but the signer as untrusted (its CA is on no public trust list)"
    )
    fix = "for a trusted signer set C2PA_CERT and C2PA_KEY (see docs/operators.md)"
    return Finding("c2pa", "WARN", detail, fix)


# --- Disk ----------------------------------------------------------------------------------


def check_disk() -> list[Finding]:
    from inference.models import ModelSettings

    return [
        _free_space("disk-models", ModelSettings().models_dir, "MODELS_DIR"),
        _free_space("disk-temp", Path(tempfile.gettempdir()), "TMPDIR"),
    ]


def _free_space(name: str, folder: Path, variable: str) -> Finding:
    existing = next((p for p in (folder, *folder.parents) if p.exists()), Path("/"))
    free = shutil.disk_usage(existing).free
    detail = f"{free / _GIB:.1f} GiB free under {folder}"
    if free < MIN_FREE_BYTES:
        fix = f"free space there, or set {variable} to a disk with at least 2 GiB free"
        return Finding(name, "WARN", detail, fix)
    return Finding(name, "OK", detail)


def _scrubbed(finding: Finding, secrets: list[str]) -> Finding:
    detail, fix = finding.detail, finding.fix
    # A shorter secret would mangle ordinary words; the Redis URL is masked anyway.
    for secret in (s for s in secrets if len(s) >= 4):
        detail, fix = detail.replace(secret, "***"), fix.replace(secret, "***")
    return Finding(finding.name, finding.status, detail, fix)

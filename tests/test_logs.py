"""Structured logs: the JSON lines parse, carry the job context, and nothing personal."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.contract import JobOutcome, job_id_for
from core.logs import FIELDS, JsonFormatter, LogSettings, configure_logging
from inference.face import FaceAnalyzer
from inference.pipeline import STAGES
from testkit.bot_stack import TOKEN, job_result, running_stack, send_photo

log = logging.getLogger("govorun.test")


@pytest.fixture
def root_logging() -> Iterator[None]:
    """configure_logging replaces the root handlers: put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers[:]:
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


@pytest.mark.usefixtures("root_logging")
def test_json_lines_carry_time_level_logger_message_and_context(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(LogSettings(format="json"), secrets=(TOKEN,))
    context = {
        "job_id": "note-0123",
        "stage": "tts",
        "duration_s": 0.25,
        "engine": "espeak",
        "outcome": "sent",
    }
    log.info("stage %s done", "tts", extra={**context, "user_text": "Секретный текст"})
    log.warning("a library printed %s", TOKEN)
    try:
        raise ValueError("broken")
    except ValueError:
        log.exception("job failed", extra={"job_id": "note-0123"})
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert len(lines) == 3
    first = lines[0]
    assert {"time", "level", "logger", "message", *FIELDS} == first.keys()
    assert (first["level"], first["logger"], first["message"]) == (
        "INFO",
        log.name,
        "stage tts done",
    )
    assert {key: first[key] for key in FIELDS} == context
    assert first["time"].endswith("+00:00")
    assert lines[1]["message"] == "a library printed [redacted]"
    assert "ValueError: broken" in lines[2]["exc"] and lines[2]["job_id"] == "note-0123"


@pytest.mark.usefixtures("root_logging")
def test_level_and_text_format_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.setenv("LOG_FORMAT", "text")
    configure_logging()
    log.info("not shown")
    log.warning("queue long", extra={"outcome": "busy", "duration_s": 1.5})
    printed = capsys.readouterr().err
    assert "not shown" not in printed
    assert printed.rstrip().endswith(
        "WARNING govorun.test: queue long duration_s=1.5 outcome=busy"
    )


@pytest.mark.usefixtures("root_logging")
async def test_a_render_job_logs_each_stage_with_job_id_and_duration_but_not_the_text(
    redis_url: str, analyzer: FaceAnalyzer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    configure_logging(LogSettings(format="json"))  # as `govorun worker` does
    logging.getLogger().addHandler(caplog.handler)
    caplog.set_level(logging.INFO)
    secret_text = "Тайное послание для проверки журнала."
    async with running_stack(redis_url, analyzer, tmp_path) as stack:
        await send_photo(stack)
        update = stack.tg.push_text(stack.user, secret_text)
        job_id = job_id_for(stack.chat, update["message"]["message_id"])
        await stack.tg.wait_for_call("sendChatAction", stack.chat)  # a worker has the job
        assert await job_result(redis_url, job_id) == JobOutcome(kind="sent", notes=1)
    worker = [r for r in caplog.records if r.name == "govorun.worker"]
    ours = [r for r in worker if r.__dict__.get("job_id") == job_id]
    stages = {r.__dict__["stage"]: r for r in ours if "stage" in r.__dict__}
    assert set(stages) == {*STAGES, "send"}
    for record in stages.values():
        assert isinstance(record.__dict__["duration_s"], float)
        assert record.__dict__["duration_s"] >= 0
    assert stages["tts"].__dict__["engine"] == "espeak"
    assert stages["animate"].__dict__["engine"] == "warp"
    finished = _finished(caplog, job_id)
    assert finished is not None and finished.__dict__["duration_s"] > 0
    # What a log collector would receive: every record as a JSON line, nothing personal.
    formatter = JsonFormatter()
    lines = [
        formatter.format(record) for record in caplog.records if record.name != "aiohttp.access"
    ]
    parsed = [json.loads(line) for line in lines]
    assert any(entry.get("stage") == "encode" for entry in parsed)
    text = "\n".join(lines)
    assert "Тайное" not in text and "послание" not in text
    assert TOKEN not in text and TOKEN.split(":")[1] not in text
    assert "render_note(…)" in text  # arq's job line, its arguments dropped
    # The chat id nowhere, as a number of its own (hashed ids are hex: it may hide in one).
    assert not re.search(rf"(?<![0-9a-f.]){stack.chat}(?![0-9a-f])", text), text


def _finished(caplog: pytest.LogCaptureFixture, job_id: str) -> logging.LogRecord | None:
    """The job's closing line, with its outcome."""
    return next(
        (
            r
            for r in caplog.records
            if r.__dict__.get("job_id") == job_id and r.__dict__.get("outcome") == "sent"
        ),
        None,
    )

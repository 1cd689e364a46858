"""Prometheus metrics, read the way Prometheus reads them: over HTTP from /metrics."""

from __future__ import annotations

import asyncio
import math
import socket
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from arq import create_pool
from arq.connections import RedisSettings as ArqRedisSettings
from prometheus_client.parser import text_string_to_metric_families

from core.contract import JOB_NAME, QUEUE_NAME, JobOutcome, job_id_for
from core.metrics import (
    MetricsServer,
    MetricsSettings,
    count_refusal,
    serve_metrics,
    start_metrics_server,
)
from inference.face import FaceAnalyzer
from inference.pipeline import STAGES
from locales import translate
from testkit.bot_stack import TEXT, TOKEN, job_result, running_stack, send_photo
from testkit.fake_telegram import FakeTelegram

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def metrics(redis_url: str) -> Iterator[MetricsServer]:
    server = start_metrics_server(0, redis_url, host="127.0.0.1")
    try:
        yield server
    finally:
        server.close()


async def scrape(port: int) -> Samples:
    url = f"http://127.0.0.1:{port}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200
        text = await response.text()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_a_delivered_note_and_a_refusal_move_the_counters(
    redis_url: str, analyzer: FaceAnalyzer, tmp_path: Path, metrics: MetricsServer
) -> None:
    before = await scrape(metrics.port)
    async with running_stack(redis_url, analyzer, tmp_path) as stack:
        stack.tg.push_text(stack.user, "Очень длинный текст для проверки. " * 150)
        await stack.wait_for_text(translate("error.text_too_long", max_notes=3, max_seconds=55))
        await send_photo(stack)
        update = stack.tg.push_text(stack.user, TEXT)
        await stack.tg.wait_for_call("sendChatAction", stack.chat)  # a worker has the job
        job_id = job_id_for(stack.chat, update["message"]["message_id"])
        assert await job_result(redis_url, job_id) == JobOutcome(kind="sent", notes=1)
        after = await scrape(metrics.port)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("govorun_jobs_total", outcome="sent") == 1
    assert moved("govorun_jobs_total", outcome="failed") == 0
    assert moved("govorun_notes_sent_total") == 1
    assert moved("govorun_refusals_total", reason="text_too_long") == 1
    for stage in (*STAGES, "send"):
        assert moved("govorun_stage_seconds_count", stage=stage) == 1, stage
    assert moved("govorun_stage_seconds_sum", stage="encode") > 0
    assert moved("govorun_queue_wait_seconds_count") == 1
    assert value(after, "govorun_queue_depth") == 0  # the one job has left the queue


async def test_queue_depth_is_read_from_redis_when_scraped(
    redis_url: str, metrics: MetricsServer
) -> None:
    assert value(await scrape(metrics.port), "govorun_queue_depth") == 0
    pool = await create_pool(ArqRedisSettings.from_dsn(redis_url))
    try:
        for n in range(3):  # no worker runs here: they wait
            await pool.enqueue_job(JOB_NAME, {}, _job_id=f"depth-{n}", _queue_name=QUEUE_NAME)
    finally:
        await pool.aclose()
    assert value(await scrape(metrics.port), "govorun_queue_depth") == 3


async def test_without_redis_the_depth_is_nan_and_the_rest_still_served() -> None:
    server = start_metrics_server(0, "redis://127.0.0.1:1/0", host="127.0.0.1")
    try:
        samples = await scrape(server.port)
    finally:
        server.close()
    assert math.isnan(value(samples, "govorun_queue_depth"))
    assert ("govorun_jobs_total", frozenset({("outcome", "timeout")})) in samples


async def test_an_unknown_refusal_reason_counts_as_other(metrics: MetricsServer) -> None:
    before = await scrape(metrics.port)
    count_refusal("a reason nobody declared")
    after = await scrape(metrics.port)
    other = value(after, "govorun_refusals_total", reason="other")
    assert other - value(before, "govorun_refusals_total", reason="other") == 1
    assert not any("nobody" in dict(labels).get("reason", "") for _, labels in after)


def test_metrics_are_off_unless_a_port_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("METRICS_PORT", raising=False)
    assert serve_metrics(MetricsSettings(), "redis://127.0.0.1:1/0") is None
    monkeypatch.setenv("METRICS_PORT", "9101")
    assert MetricsSettings().port == 9101


async def test_the_bot_serves_metrics_on_metrics_port(
    redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.main import run_bot

    port = _free_port()
    async with FakeTelegram(token=TOKEN) as tg:
        for name, setting in {
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE": tg.base_url,
            "REDIS_URL": redis_url,
            "METRICS_PORT": str(port),
            "METRICS_HOST": "127.0.0.1",
        }.items():
            monkeypatch.setenv(name, setting)
        bot = asyncio.create_task(run_bot())
        await tg.wait_for_call("getUpdates")  # polling: the metrics server started before it
        try:
            samples = await scrape(port)
        finally:
            bot.cancel()
            await asyncio.gather(bot, return_exceptions=True)
    assert value(samples, "govorun_queue_depth") == 0
    assert ("govorun_jobs_total", frozenset({("outcome", "sent")})) in samples


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])

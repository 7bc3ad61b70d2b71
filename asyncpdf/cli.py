"""`asyncpdf serve | analyze | check-config`, each with `--config PATH`."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from asyncpdf.analysis import analyze_file
from asyncpdf.config import Settings, load_settings
from asyncpdf.detect import Rules
from asyncpdf.errors import AsyncPdfError

log = logging.getLogger("asyncpdf")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="asyncpdf", description=__doc__)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=Path("config.yaml"), help="config file")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", parents=[common], help="run the service")
    analyze = commands.add_parser("analyze", parents=[common], help="analyse files, change nothing")
    analyze.add_argument("files", nargs="+", type=Path, metavar="FILE")
    analyze.add_argument("--json", action="store_true", help="one JSON object per file")
    commands.add_parser("check-config", parents=[common], help="validate the config and exit")
    return parser


def _serve(settings: Settings) -> int:
    from aiohttp import web

    from asyncpdf.app import create_app

    web.run_app(
        create_app(settings),
        host=settings.web.host,
        port=settings.web.port,
        print=lambda text: log.info("%s", text.strip()),
    )
    return 0


def _describe(result: dict[str, object]) -> str:
    if result["error"]:
        return f"{result['file']}: {result['error']}"
    return (
        f"{result['file']}: {result['pages']} page(s), {result['plates']} plate(s), "
        f"plates {result['plate_sizes_mm']} mm, press {result['press']}, "
        f"paper {result['paper_mm']} mm, bureau {result['bureau']}, "
        f"order {result['order']} {result['order_name']!r}, creator {result['creator']!r}"
    )


def _analyze(settings: Settings, files: Sequence[Path], as_json: bool) -> int:
    rules = Rules.from_settings(settings)
    status = 0
    for path in files:
        try:
            result = analyze_file(path, rules, settings.pool.job_timeout_s)
        except OSError as exc:
            result = {"file": str(path), "error": f"cannot read: {exc.strerror or exc}"}
        if result["error"]:
            status = 1
        print(json.dumps(result, ensure_ascii=False) if as_json else _describe(result))
    return status


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = load_settings(args.config)
        if args.command == "check-config":
            print(
                f"{args.config}: ok ({len(settings.presses)} presses, "
                f"{len(settings.bureaus)} bureaus)"
            )
            return 0
        if args.command == "analyze":
            return _analyze(settings, args.files, args.json)
        return _serve(settings)
    except AsyncPdfError as exc:
        print(f"asyncpdf: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    raise SystemExit(main())

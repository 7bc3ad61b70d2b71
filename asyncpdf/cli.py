"""`asyncpdf serve | analyze | check-config | import | backup`, each with `--config PATH`, and
`asyncpdf hash-password`.

Exit codes: 0 ok; 1 a file was rejected or failed (analyze), input ended before a password
(hash-password), or the database could not be copied (backup); 2 usage or configuration error
(backup: FILE exists and no --force); 3 cannot start (another instance holds the data folder, or
the port is taken); 130 interrupted by Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from asyncpdf.config import Settings, load_settings
from asyncpdf.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, AsyncPdfError, CannotStart

log = logging.getLogger("asyncpdf")
#: A command stopped by Ctrl-C exits as a shell reports one killed by SIGINT.
EXIT_INTERRUPTED = 128 + signal.SIGINT


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asyncpdf", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=Path("config.yaml"), help="config file")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", parents=[common], help="run the service")
    analyze = commands.add_parser("analyze", parents=[common], help="analyse files, change nothing")
    analyze.add_argument("files", nargs="+", type=Path, metavar="FILE")
    analyze.add_argument("--json", action="store_true", help="one JSON object per file")
    commands.add_parser("check-config", parents=[common], help="validate the config and exit")
    backfill = commands.add_parser(
        "import",
        parents=[common],
        help="import old plate files as history: analysed and recorded, nothing sent",
        description="Every plain *.pdf under DIR through the service's pipeline in import mode, "
        "the files themselves left untouched (copied into the spool); files already imported "
        "or delivered are skipped, so an interrupted run continues where it stopped. Needs "
        "the data folder to itself (the service stopped). Exit code 130/143 when interrupted.",
    )
    backfill.add_argument("folder", type=Path, metavar="DIR")
    backup = commands.add_parser(
        "backup",
        parents=[common],
        help="copy the database to FILE, consistently, while the service runs",
        description="An online backup of the database named in the config (SQLite's backup "
        "API: the copy holds what was committed when it began), written under a temporary "
        "name beside FILE, checked, then renamed. Run it as the service's user. To restore: "
        "stop the service, copy the backup over the database, remove its -wal and -shm "
        "files, start the service.",
    )
    backup.add_argument("file", type=Path, metavar="FILE")
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")
    commands.add_parser(
        "hash-password",
        help="print the hash of a password for web.auth.users",
        description="Reads the password twice from the terminal, or once (one line) from "
        "stdin when it is not a terminal, and prints the line to put in the config as a "
        "user's password_hash under web.auth.users.",
    )
    return parser


def _read_password(interactive: bool) -> str | None:
    """The password typed twice (None when the two differ), or one line of stdin; EOFError
    when the input ends first."""
    if interactive:
        password = getpass.getpass("password: ")
        return password if getpass.getpass("again: ") == password else None
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\r\n")


def _hash_password() -> int:
    from asyncpdf.web.auth_settings import hash_password

    interactive = sys.stdin.isatty()
    try:
        password = _read_password(interactive)
        if password is None:
            print("asyncpdf: the passwords differ; nothing printed", file=sys.stderr)
            return EXIT_USAGE
        if not password:
            print("asyncpdf: the password is empty; nothing printed", file=sys.stderr)
            return EXIT_USAGE
        print(hash_password(password))
        return EXIT_OK
    except (KeyboardInterrupt, EOFError) as stop:
        interrupted = isinstance(stop, KeyboardInterrupt)
        reason = "interrupted" if interrupted else "no password: the input ended"
        # getpass leaves the cursor after its prompt: the message goes on a line of its own.
        start = "\n" if interactive else ""
        print(f"{start}asyncpdf: {reason}; nothing printed", file=sys.stderr)
        return EXIT_INTERRUPTED if interrupted else EXIT_FAILED


def _backup(settings: Settings, file: Path, force: bool) -> int:
    from asyncpdf.backup import backup_database, describe

    database = settings.paths.database
    print(describe(backup_database(database, file, force=force), database))
    return EXIT_OK


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the service touches anything."""
    try:
        sock = socket.create_server((host, port), reuse_port=False, backlog=128)
    except OSError as exc:
        raise CannotStart(
            f"cannot listen on {host}:{port}: {os.strerror(exc.errno or 0)}; set another port with "
            f"web.port in the config or ASYNCPDF_WEB__PORT"
        ) from None
    sock.setblocking(False)
    return sock


async def _serve(settings: Settings, config_path: Path) -> int:
    from aiohttp import web

    from asyncpdf.systemd import SystemdNotifier
    from asyncpdf.web.app import ACCESS_LOGGER, create_app
    from asyncpdf.web.errors import REQUEST_LOG
    from asyncpdf.web.keys import SERVICE
    from asyncpdf.web.limits import BoundedSite, ConnectionLimits

    sock = _bind(settings.web.host, settings.web.port)
    app = create_app(settings, config_path=config_path)
    runner = web.AppRunner(
        app,
        access_log_class=ACCESS_LOGGER,
        logger=REQUEST_LOG,
        **ConnectionLimits.of(settings.web).runner_options(),
    )
    # Under systemd (Type=notify): the watchdog from the start, since opening may take a while
    # (recovery); READY once the port listens, the service has opened and a SIGTERM would be
    # handled; STOPPING before the parts close.
    systemd = SystemdNotifier.from_environment()
    systemd.start_watchdog()
    try:
        try:
            await runner.setup()
        except AsyncPdfError:
            raise
        except Exception as exc:
            # Start-up met something unforeseen (a broken database, a folder it cannot
            # make): one line and a non-zero exit, not a half-started process.
            log.debug("start-up failed", exc_info=True)
            raise CannotStart(f"cannot start: {type(exc).__name__}: {exc}") from exc
        metrics = runner.app[SERVICE].metrics
        # Measured once the service has raised the open-files limit.
        limits = ConnectionLimits.of(settings.web)
        site = BoundedSite(
            runner, sock, limits, metrics.connections_refused.inc, metrics.connection_dropped
        )
        await site.start()
        host, port = sock.getsockname()[:2]
        log.info("listening on http://%s:%d", host, port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        systemd.ready(f"listening on http://{host}:{port}")
        await stop.wait()
    finally:
        systemd.stopping()
        await runner.cleanup()
        sock.close()
        await systemd.close()
    return EXIT_OK


async def _analyze(settings: Settings, files: Sequence[Path], as_json: bool) -> int:
    """Each file in a worker process, under the service's job timeout and memory limit: a
    hostile file stops the command no later than it would stop a job. The workers (`pool.
    workers` of them, every file handed out at once, printed in order) are forked: this command
    has no service state to keep from them, and they start with the analysis imported instead
    of a new interpreter importing it again."""
    # Imported here: the other commands need none of it, and analyze nothing else.
    from asyncpdf.pdf.analysis import analyze_file
    from asyncpdf.pdf.model import Analysis
    from asyncpdf.pdf.summary import describe
    from asyncpdf.pipeline.pool import Pool

    rules = settings.rules()
    limits = settings.pool
    pool = Pool(limits.workers, limits.job_timeout_s, limits.worker_memory_mb, start_method="fork")

    async def analysed(path: Path) -> Analysis:
        try:
            return await pool.run(analyze_file, path, rules)
        except (OSError, AsyncPdfError) as exc:
            reason = f"cannot read: {exc.strerror or exc}" if isinstance(exc, OSError) else exc
            return Analysis(file=str(path), size=0, error=str(reason), rejected=True)

    status = EXIT_OK
    try:
        results = [asyncio.ensure_future(analysed(path)) for path in files]
        for found in results:
            result = await found
            if result.error:
                status = EXIT_FAILED
            print(json.dumps(result.to_json(), ensure_ascii=False) if as_json else describe(result))
    finally:
        for found in results:
            found.cancel()
        pool.close()
    return status


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "hash-password":  # needs no config
        return _hash_password()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # pikepdf, imported from here on only by the commands that use it, says at INFO that it has
    # set up its logger: not a line for the service's log.
    logging.getLogger("pikepdf._core").setLevel(logging.WARNING)
    try:
        settings = load_settings(args.config)
        if args.command == "check-config":
            print(
                f"{args.config}: ok ({len(settings.presses)} presses, "
                f"{len(settings.bureaus)} bureaus)"
            )
            return EXIT_OK
        if args.command == "analyze":
            return asyncio.run(_analyze(settings, args.files, args.json))
        if args.command == "backup":
            return _backup(settings, args.file, args.force)
        if args.command == "import":
            from asyncpdf.backfill import import_folder

            return asyncio.run(
                import_folder(settings, args.folder, config_path=args.config.resolve())
            )
        return asyncio.run(_serve(settings, args.config.resolve()))
    except AsyncPdfError as exc:
        print(f"asyncpdf: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    raise SystemExit(main())

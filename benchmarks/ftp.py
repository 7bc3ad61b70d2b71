"""How fast asyncpdf's FTP uploader sends a big file to vsftpd, against curl, over FTP and
FTPS, and what memory it takes.

    .venv/bin/python benchmarks/ftp.py [--size-mb N] [--rounds R] [--schemes ftp,ftps]

Writes a file of `--size-mb` random megabytes (default 200) into a temporary folder and starts
Debian's vsftpd (unpacked by scripts/servers.sh, run in the foreground on 127.0.0.1 with its
own config, as the system tests do; a C server, so the server is not the bottleneck). For each
scheme: plain FTP, then explicit TLS (`ftps://`, the certificate checked against the CA the
run made). Then, `--rounds` times (default 5), alternating:

- asyncpdf: `asyncpdf.delivery.deliver`, passive mode, in a subprocess of its own that notes
  its resident memory just before the upload and its peak after it;
- curl: `curl -T FILE ftp://.../` (with `--ssl-reqd --cacert CA` for ftps).

Prints each one's median throughput (MB/s, 1 MB = 2^20 bytes), the ratio asyncpdf / curl
(target >= 0.8) and asyncpdf's peak memory growth during the upload (target < 20 MB), per
scheme. Figures are printed, never asserted; the script exits 1 if a file arrived different
from what was sent.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MB = 1 << 20


def _memory_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(field)


async def _upload(url: str, source: Path, name: str) -> dict[str, float]:
    from asyncpdf.delivery import deliver

    # Resets VmHWM to the present RSS, so the peak read after is the upload's own (where
    # the kernel refuses, the peak since start is an upper bound).
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    before = _memory_kb("VmRSS")
    started = time.perf_counter()
    sent = await deliver(url, source, name)
    seconds = time.perf_counter() - started
    peak = _memory_kb("VmHWM")
    return {"seconds": seconds, "bytes": sent.bytes, "growth_kb": peak - before}


def upload(url: str, source: Path, name: str) -> None:
    """The uploader's side, in a process of its own: prints its figures as JSON."""
    print(json.dumps(asyncio.run(_upload(url, source, name))))


def _time_asyncpdf(url: str, source: Path, name: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--upload", url, str(source), name],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    figures: dict[str, float] = json.loads(done.stdout)
    return figures


def _time_curl(url: str, source: Path, name: str, ca: Path | None) -> float:
    """curl speaks ftp:// only; explicit TLS is its --ssl-reqd."""
    tls = ["--ssl-reqd", "--cacert", str(ca)] if ca else []
    plain = url.replace("ftps://", "ftp://", 1).split("?")[0]
    started = time.perf_counter()
    subprocess.run(["curl", "-sS", *tls, "-T", str(source), plain + name], check=True)
    return time.perf_counter() - started


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(MB):
            digest.update(block)
    return digest.hexdigest()


def _write_random(path: Path, size_mb: int) -> None:
    with path.open("wb") as file:
        for _ in range(size_mb):
            file.write(os.urandom(MB))


def run(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(ROOT))
    from tests.support.debian_servers import running

    with tempfile.TemporaryDirectory(prefix="asyncpdf-ftp-bench-") as temp:
        folder = Path(temp)
        source = folder / "plates.bin"
        _write_random(source, args.size_mb)
        for scheme in args.schemes.split(","):
            with running("vsftpd", folder / scheme, tls=scheme == "ftps") as server:
                assert server.certs is not None
                ca = server.certs.ca if scheme == "ftps" else None
                url = server.url(**({"ca_file": str(ca)} if ca else {}))
                url = url.replace("?", "/?", 1) if "?" in url else url + "/"
                if _rounds(args, scheme, source, server.root, url, ca):
                    return 1
    return 0


def _rounds(
    args: argparse.Namespace, scheme: str, source: Path, served: Path, url: str, ca: Path | None
) -> int:
    print(
        f"{scheme} upload of {args.size_mb} MB to vsftpd on 127.0.0.1, {args.rounds} rounds "
        f"(python {platform.python_version()}, {os.cpu_count()} cpus)"
    )
    expected = _sha256(source)
    ours: list[float] = []
    theirs: list[float] = []
    growth: list[float] = []
    for round_ in range(1, args.rounds + 1):
        figures = _time_asyncpdf(url, source, "asyncpdf.bin")
        if _sha256(served / "asyncpdf.bin") != expected:
            print("asyncpdf's upload arrived different from the file sent")
            return 1
        ours.append(args.size_mb / figures["seconds"])
        growth.append(figures["growth_kb"] / 1024)
        theirs.append(args.size_mb / _time_curl(url, source, "curl.bin", ca))
        print(
            f"  round {round_}: asyncpdf {ours[-1]:7.1f} MB/s (memory +{growth[-1]:.1f} MB), "
            f"curl {theirs[-1]:7.1f} MB/s"
        )
        for name in ("asyncpdf.bin", "curl.bin"):
            (served / name).unlink()
    ratio = statistics.median(ours) / statistics.median(theirs)
    print(f"median throughput ({scheme}):\n  asyncpdf {statistics.median(ours):7.1f} MB/s")
    print(f"  curl     {statistics.median(theirs):7.1f} MB/s")
    print(
        f"{scheme}: asyncpdf / curl: {ratio:.2f} (target >= 0.8)"
        f"{'' if ratio >= 0.8 else ' (missed)'}"
    )
    peak = max(growth)
    print(
        f"{scheme}: asyncpdf peak memory growth during the upload: {peak:.1f} MB "
        f"(target < 20 MB){'' if peak < 20 else ' (missed)'}\n"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200, help="file size (default 200)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each (default 5)")
    parser.add_argument("--schemes", default="ftp,ftps", help="ftp, ftps or both (default)")
    parser.add_argument("--upload", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.upload:
        url, source, name = args.upload
        upload(url, Path(source), name)
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())

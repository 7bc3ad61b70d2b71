"""The layers contract (pyproject.toml, `[tool.importlinter]`): each layer of the service
imports only from below, pdf/ never imports the asynchronous stack, and the config starts no
HTTP client or server. import-linter reads the imports of every module, in functions too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def lint(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT), "--no-cache", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_every_contract_is_kept() -> None:
    done = lint()
    assert done.returncode == 0, done.stdout[-3000:]
    assert "3 kept, 0 broken" in done.stdout


def test_an_upward_import_breaks_the_layers(tmp_path: Path) -> None:
    """The same contract with the store put below the domain: the store's imports of the
    domain now run upward, and the linter says so (the contract is not vacuous)."""
    config = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    upside_down = config.replace(
        '    "asyncpdf.store | asyncpdf.delivery | asyncpdf.notify",\n    "asyncpdf.domain",\n',
        '    "asyncpdf.domain",\n    "asyncpdf.store | asyncpdf.delivery | asyncpdf.notify",\n',
    )
    assert upside_down != config
    swapped = tmp_path / "pyproject.toml"
    swapped.write_text(upside_down, encoding="utf-8")
    done = lint("--config", str(swapped))
    assert done.returncode != 0
    assert "asyncpdf.store is not allowed to import asyncpdf.domain" in done.stdout

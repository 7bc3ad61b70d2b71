"""The boundary of `asyncpdf.pdf`: plain synchronous code for the pool workers, which never
imports the service's asynchronous stack (asyncio, aiohttp, aiosqlite) or its configuration
models (pydantic), neither itself nor through what it imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import asyncpdf.pdf

PDF = Path(asyncpdf.pdf.__file__).resolve().parent
FORBIDDEN = frozenset({"asyncio", "aiohttp", "aiosqlite", "pydantic"})
MODULES = sorted(PDF.glob("*.py"))


def imported(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every import in `tree`, at any depth (in functions too)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def test_the_checks_see_the_modules() -> None:
    names = {path.stem for path in MODULES}
    assert {"analysis", "artefacts", "crop", "ghostscript", "model", "text"} <= names
    # The check itself finds each form of import it is meant to catch.
    caught = imported(
        ast.parse("import asyncio\nimport aiohttp.web\nfrom pydantic.fields import Field\n")
    )
    assert [module for _, module in caught] == ["asyncio", "aiohttp.web", "pydantic.fields"]


def test_no_pdf_module_imports_the_service_stack() -> None:
    offences = [
        f"{path.name}:{line}: {module}"
        for path in MODULES
        for line, module in imported(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        if module.split(".")[0] in FORBIDDEN
    ]
    assert offences == []


def test_importing_every_pdf_module_loads_none_of_it() -> None:
    modules = ", ".join(
        "asyncpdf.pdf" if path.stem == "__init__" else f"asyncpdf.pdf.{path.stem}"
        for path in MODULES
    )
    code = (
        f"import {modules}; import sys; "
        f"bad = {sorted(FORBIDDEN)!r} ; print(sorted(set(bad) & set(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"

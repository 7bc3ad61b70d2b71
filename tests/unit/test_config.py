"""Settings: the shipped config.yaml, env overrides, bad configs and `asyncpdf check-config`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from asyncpdf.config import DEFAULT_IGNORE, Settings, load_settings
from asyncpdf.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "config.yaml"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No ASYNCPDF_* variable from the outside may change what these tests load."""
    for name in list(os.environ):
        if name.upper().startswith("ASYNCPDF_"):
            monkeypatch.delenv(name)


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the shipped config ---------------------------------------------------------------------


@pytest.fixture
def shipped() -> Settings:
    return load_settings(SHIPPED)


def test_shipped_config_presses(shipped: Settings) -> None:
    presses = {p.name: (p.plate_mm, p.gripper_mm) for p in shipped.presses}
    assert presses == {
        "Speedmaster": ((1030, 770), 43),
        "Planeta": ((1010, 820), 52),
        "Dominant": ((650, 550), 36),
    }
    for press in shipped.presses:
        assert press.preview_target == (REPO / "var/outbox/press" / press.name).as_uri()
    assert shipped.press("speedmaster") is shipped.presses[0]


def test_shipped_config_bureaus(shipped: Settings) -> None:
    assert [(b.name, b.notify) for b in shipped.bureaus] == [
        ("Leonov", True),
        ("Korol", True),
        ("Vonoel", True),
        ("Pechatnik", True),
        ("Admin", False),
    ]
    outbox = REPO / "var" / "outbox"
    for bureau in shipped.bureaus:
        assert bureau.target.startswith("file:///")
        assert bureau.target == (outbox / "bureau" / bureau.name).as_uri()
    leonov = shipped.bureau("LEONOV")
    assert leonov is not None
    assert set(leonov.press_folders) == {"Speedmaster", "Planeta", "Dominant"}


def test_shipped_config_paths_and_web(shipped: Settings) -> None:
    var = REPO / "var"
    assert shipped.paths.hotfolder == var / "hotfolder"
    assert shipped.paths.spool == var / "spool"
    assert shipped.paths.done == var / "done"
    assert shipped.paths.error == var / "error"
    assert shipped.paths.previews == var / "previews"
    assert shipped.paths.database == var / "asyncpdf.sqlite3"
    for _, path in shipped.paths:
        assert path.is_absolute()
    assert (shipped.web.host, shipped.web.port) == ("127.0.0.1", 8800)
    assert shipped.watch.patterns == DEFAULT_IGNORE
    assert shipped.marks, "the shipped config lists the Signa mark rules"


def test_shipped_config_loads_from_another_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(Path(os.path.relpath(SHIPPED, tmp_path)))
    assert settings.paths.hotfolder == REPO / "var" / "hotfolder"
    assert settings.bureaus[0].target == (REPO / "var/outbox/bureau/Leonov").as_uri()


def test_extra_ignore_adds_to_the_default_patterns(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "watch: {extra_ignore: ['*.indd', 'Draft *']}\n"))
    assert settings.watch.patterns == (*DEFAULT_IGNORE, "*.indd", "Draft *")


# --- environment overrides ------------------------------------------------------------------


def test_env_overrides_nested_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASYNCPDF_WEB__PORT", "8899")
    monkeypatch.setenv("ASYNCPDF_POOL__WORKERS", "3")
    monkeypatch.setenv("ASYNCPDF_WATCH__SETTLE_S", "0.5")
    settings = load_settings(SHIPPED)
    assert settings.web.port == 8899
    assert settings.web.host == "127.0.0.1", "the rest of the file's section stays"
    assert settings.pool.workers == 3
    assert settings.pool.jobs == 4
    assert settings.watch.settle_s == 0.5
    assert settings.watch.poll_s == 0.5


def test_env_json_list_replaces_bureaus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASYNCPDF_BUREAUS", '[{"name":"X","target":"file:///tmp/x"}]')
    settings = load_settings(SHIPPED)
    assert [(b.name, b.target, b.notify) for b in settings.bureaus] == [
        ("X", "file:///tmp/x", True)
    ]
    assert len(settings.presses) == 3, "other lists stay as the file has them"


def test_env_override_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASYNCPDF_WEB__PORT", "not-a-port")
    with pytest.raises(ConfigError) as caught:
        load_settings(SHIPPED)
    assert str(caught.value) == (
        "environment ASYNCPDF_WEB__PORT: "
        "Input should be a valid integer, unable to parse string as an integer"
    ), "the variable is blamed, not the file"
    assert caught.value.exit_code == 2


def test_env_bad_json_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASYNCPDF_BUREAUS", '[{"name":"X"')
    with pytest.raises(ConfigError) as caught:
        load_settings(SHIPPED)
    assert str(caught.value) == (
        "environment ASYNCPDF_BUREAUS: "
        "not valid JSON (Expecting ',' delimiter at line 1, column 13)"
    )


ENV_ERRORS = [
    pytest.param(
        {"ASYNCPDF_WEB__PORT": "99999"},
        "environment ASYNCPDF_WEB__PORT: Input should be less than or equal to 65535",
        id="port-out-of-range",
    ),
    pytest.param(
        {"asyncpdf_web__port": "eighty"},
        "environment asyncpdf_web__port: "
        "Input should be a valid integer, unable to parse string as an integer",
        id="lower-case-name",
    ),
    pytest.param(
        {"ASYNCPDF_WEB__PROT": "8800"},
        "environment ASYNCPDF_WEB__PROT: Extra inputs are not permitted",
        id="typo-in-name",
    ),
    pytest.param(
        {"ASYNCPDF_WEB": '{"port": "eighty"}'},
        "environment ASYNCPDF_WEB: web.port: "
        "Input should be a valid integer, unable to parse string as an integer",
        id="section-json",
    ),
    pytest.param(
        {"ASYNCPDF_BUREAUS": '[{"name": "X"}]'},
        "environment ASYNCPDF_BUREAUS: bureaus.0.target: Field required",
        id="list-json-missing-field",
    ),
    pytest.param(
        {"ASYNCPDF_BUREAUS": '[{"name": "X", "target": "gopher://user:s3cret@host/x"}]'},
        "environment ASYNCPDF_BUREAUS: bureaus.0.target: target scheme 'gopher' is not supported",
        id="list-json-secret-target",
    ),
    pytest.param(
        {"ASYNCPDF_WEB": "not json"},
        "environment ASYNCPDF_WEB: not valid JSON (Expecting value at line 1, column 1)",
        id="section-not-json",
    ),
    pytest.param(
        {"ASYNCPDF_POOL__WORKERS": "0", "ASYNCPDF_WEB__PORT": "8801"},
        "environment ASYNCPDF_POOL__WORKERS: Input should be greater than or equal to 1",
        id="one-of-several",
    ),
    pytest.param(
        {"ASYNCPDF_PATHS__SPOOL": "var/hotfolder/spool"},
        "environment ASYNCPDF_PATHS__SPOOL: paths.spool must not be inside paths.hotfolder",
        id="folder-inside-hotfolder",
    ),
]


@pytest.mark.parametrize(("env", "message"), ENV_ERRORS)
def test_env_error_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(SHIPPED)
    assert str(caught.value).startswith(message)
    assert str(SHIPPED) not in str(caught.value), "the file is not to blame"
    assert "\n" not in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_file_error_is_not_blamed_on_a_variable_for_another_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASYNCPDF_WEB__HOST", "0.0.0.0")
    monkeypatch.setenv("ASYNCPDF_POOL", '{"workers": 3}')
    path = write(tmp_path, "pool:\n  jobs: 2\nweb:\n  host: 127.0.0.1\n  port: eighty\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == (
        f"{path}: line 5: web.port: "
        "Input should be a valid integer, unable to parse string as an integer"
    )


def test_env_section_json_merges_with_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A field the section's JSON does not set came from the file."""
    monkeypatch.setenv("ASYNCPDF_WEB", '{"host": "0.0.0.0"}')
    path = write(tmp_path, "web:\n  port: 70000\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == (
        f"{path}: line 2: web.port: Input should be less than or equal to 65535"
    )


# --- bad configs ----------------------------------------------------------------------------

BAD_CONFIGS = [
    pytest.param("web: {port: eighty}\n", r"web\.port", id="port-wrong-type"),
    pytest.param("web: {port: 70000}\n", r"web\.port", id="port-out-of-range"),
    pytest.param(
        "presses:\n  - {name: P, plate_mm: [1030, 770], gripper_mm: -5}\n",
        r"presses\.0\.gripper_mm",
        id="negative-gripper",
    ),
    pytest.param(
        "presses:\n  - {name: P, plate_mm: [0, 770], gripper_mm: 5}\n",
        r"presses\.0\.plate_mm",
        id="zero-plate",
    ),
    pytest.param("pool: {wokers: 2}\n", r"pool\.wokers", id="typo-in-section"),
    pytest.param("pol: {workers: 2}\n", r"\bpol\b", id="typo-section"),
    pytest.param("watch: {poll_s: 0}\n", r"watch\.poll_s", id="zero-poll"),
    pytest.param(
        "bureaus:\n  - {name: B, target: 'gopher://example.com/plates'}\n",
        r"bureaus\.0\.target.*gopher",
        id="gopher-target",
    ),
    pytest.param(
        "bureaus:\n  - {name: B, target: 'file:out/b', notify: perhaps}\n",
        r"bureaus\.0\.notify",
        id="notify-not-bool",
    ),
    pytest.param(
        "bureaus:\n  - {name: Leonov, target: 'file:a'}\n  - {name: leonov, target: 'file:b'}\n",
        r"bureaus: duplicate names \['leonov'\]",
        id="duplicate-bureaus",
    ),
    pytest.param(
        "presses:\n  - {name: P, plate_mm: [1, 1], gripper_mm: 0}\n"
        "  - {name: P, plate_mm: [2, 2], gripper_mm: 0}\n",
        r"presses: duplicate names",
        id="duplicate-presses",
    ),
    pytest.param(
        "bureaus:\n  - {name: B, target: 'file:b', file_name: '{stem}_{colour}{ext}'}\n",
        r"bureaus\.0\.file_name.*colour",
        id="unknown-template-field",
    ),
    pytest.param(
        "marks:\n  - {mark: M, pattern: '(?P<press>['}\n",
        r"marks\.0\.pattern",
        id="bad-mark-regex",
    ),
    pytest.param(
        "paths: {hotfolder: var/hot, spool: var/hot/spool}\n",
        r"paths\.spool must not be inside paths\.hotfolder",
        id="spool-inside-hotfolder",
    ),
    pytest.param(
        "paths: {hotfolder: var/hot, error: var/hot}\n",
        r"paths\.error must not be inside paths\.hotfolder",
        id="error-is-hotfolder",
    ),
    pytest.param(
        "web: {port: [8800\n",
        r": line 2, column 1: not valid YAML \(expected ',' or '\]', but got '<stream end>'\)$",
        id="invalid-yaml",
    ),
    pytest.param(
        "web:\n  port: 8800\n  host: localhost: 8800\n",
        r": line 3, column 18: not valid YAML \(mapping values are not allowed here\)$",
        id="mapping-in-scalar",
    ),
    pytest.param(
        "web:\n\tport: 8800\n",
        r": line 2, column 1: not valid YAML "
        r"\(found character '\\t' that cannot start any token\)$",
        id="tab-indent",
    ),
    pytest.param(
        "web: {host: 'a\x07b'}\n",
        r": line 1, column 15: not valid YAML \(special characters are not allowed \(#x0007\)\)$",
        id="control-character",
    ),
    pytest.param(
        "web: {port: 1}\n---\nweb: {port: 2}\n",
        r": line 2, column 1: not valid YAML \(but found another document\)$",
        id="two-documents",
    ),
    pytest.param(
        "web:\n  port: !!int s3cret\n",
        r": line 2, column 9: not valid YAML \(not a valid !!int value\)$",
        id="bad-tagged-int",
    ),
    pytest.param(
        "bureaus:\n  - {name: B, target: 'file:b', notify: !!bool perhaps}\n",
        r": line 2, column 41: not valid YAML \(not a valid !!bool value\)$",
        id="bad-tagged-bool",
    ),
    pytest.param("a: " + "[" * 5000 + "\n", r": not valid YAML \(nested too deeply\)$", id="deep"),
    pytest.param("- web\n- pool\n", r"top level must be a mapping", id="top-level-list"),
    pytest.param("just words\n", r"top level must be a mapping", id="top-level-scalar"),
]


@pytest.mark.parametrize(("text", "names"), BAD_CONFIGS)
def test_bad_config_names_the_field(tmp_path: Path, text: str, names: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=names) as caught:
        load_settings(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert "\n" not in str(caught.value)
    assert "<unicode string>" not in str(caught.value)
    assert caught.value.exit_code == 2


LINES = [
    pytest.param(
        "presses:\n"
        "  - name: Big\n"
        "    plate_mm: [1030, 770]\n"
        "    gripper_mm: 10\n"
        "  - name: Small\n"
        "    gripper_mm: 10\n"
        "    plate_mm: [0, 770]\n",
        "line 7: presses.1.plate_mm: plate sizes must be positive",
        id="nested-field",
    ),
    pytest.param(
        "web:\n  host: 127.0.0.1\n\npool:\n  workers: 2\n  wokers: 3\n",
        "line 6: pool.wokers: Extra inputs are not permitted",
        id="unknown-key",
    ),
    pytest.param(
        "web: {port: 8800}\nbureaus:\n  - {name: A, target: 'file:a'}\n  - name: B\n",
        "line 4: bureaus.1.target: Field required",
        id="missing-field-at-its-item",
    ),
    pytest.param(
        "marks:\n  - mark: M\n    pattern: '(?P<colour>x)'\n",
        "line 3: marks.0.pattern: named groups must be some of",
        id="value-error-prefix-dropped",
    ),
    pytest.param(
        "paths:\n  hotfolder: var/hot\n  spool: var/hot/spool\n",
        "line 3: paths.spool must not be inside paths.hotfolder",
        id="folder-inside-hotfolder",
    ),
    pytest.param(
        "bureaus:\n  - {name: A, target: 'file:a'}\n  - {name: a, target: 'file:b'}\n",
        "bureaus: duplicate names ['a']",
        id="whole-file-check-has-no-line",
    ),
]


@pytest.mark.parametrize(("text", "message"), LINES)
def test_bad_config_names_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value).startswith(f"{path}: {message}")


def test_yaml_error_does_not_echo_the_line(tmp_path: Path) -> None:
    """PyYAML's message quotes the bad line, here with a password in it; ours does not."""
    path = write(
        tmp_path,
        "bureaus:\n  - name: B\n    target: ftp://plates:s3cret@host/in: now\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value) == (
        f"{path}: line 3, column 40: not valid YAML (mapping values are not allowed here)"
    )


def test_validation_error_does_not_echo_the_value(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "bureaus:\n  - name: B\n    target: 'gopher://plates:s3cret@host/in'\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert message.startswith(
        f"{path}: line 3: bureaus.0.target: target scheme 'gopher' is not supported"
    )
    assert "s3cret" not in message
    assert "plates" not in message


def test_non_utf8_config_is_one_line(tmp_path: Path) -> None:
    data = "web:\n  host: café\n".encode("cp1252")
    path = tmp_path / "config.yaml"
    path.write_bytes(data)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    offset = data.index(b"\xe9")
    assert str(caught.value) == (
        f"{path}: not UTF-8 text (byte 0xe9 at offset {offset}); save it as UTF-8"
    )
    assert caught.value.exit_code == 2


def test_missing_config_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(ConfigError, match=r"cannot read config") as caught:
        load_settings(path)
    assert str(path) in str(caught.value)


def test_empty_config_file_gives_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "# nothing set\n"))
    assert settings.paths.hotfolder == tmp_path / "var" / "hotfolder"
    assert settings.web.port == 8800
    assert settings.bureaus == ()


def test_relative_file_target_resolves_against_the_config_folder(tmp_path: Path) -> None:
    sub = tmp_path / "etc"
    sub.mkdir()
    path = write(sub, "bureaus:\n  - {name: B, target: 'file:out/b'}\n")
    settings = load_settings(path)
    assert settings.bureaus[0].target == (sub / "out" / "b").as_uri()


@pytest.mark.parametrize(
    ("paths", "field"),
    [
        pytest.param("{hotfolder: var/hot, spool: '{tmp}/var/hot/spool'}", "spool", id="abs-spool"),
        pytest.param("{hotfolder: '{tmp}/var/hot', done: var/hot/done}", "done", id="abs-hot"),
        pytest.param("{hotfolder: var/hot, spool: var/x/../hot/spool}", "spool", id="dotdot"),
        pytest.param("{hotfolder: var/hot/, previews: var/hot}", "previews", id="trailing-slash"),
    ],
)
def test_folder_inside_hotfolder_after_resolving(tmp_path: Path, paths: str, field: str) -> None:
    path = write(tmp_path, "paths: " + paths.replace("{tmp}", str(tmp_path)) + "\n")
    with pytest.raises(ConfigError, match=rf"paths\.{field} must not be inside") as caught:
        load_settings(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_check_config_folder_inside_hotfolder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, f"paths: {{hotfolder: var/hot, spool: '{tmp_path}/var/hot/spool'}}\n")
    assert check_config(path) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert "paths.spool must not be inside paths.hotfolder" in err


def test_database_inside_hotfolder(tmp_path: Path) -> None:
    path = write(tmp_path, "paths: {hotfolder: var/hot, database: var/hot/asyncpdf.sqlite3}\n")
    with pytest.raises(ConfigError, match=r"paths\.database must not be inside"):
        load_settings(path)


# --- asyncpdf check-config ------------------------------------------------------------------


def check_config(path: Path) -> int:
    from asyncpdf.cli import main  # imported here so a cli import problem fails only these tests

    return main(["check-config", "--config", str(path)])


def test_check_config_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_config(SHIPPED) == 0
    out, err = capsys.readouterr()
    assert out.strip() == f"{SHIPPED}: ok (3 presses, 5 bureaus)"
    assert err == ""


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("web: {port: eighty}\n", "line 1: web.port"),
        ("pool: {wokers: 2}\n", "line 1: pool.wokers"),
        ("bureaus:\n  - {name: B, target: 'gopher://x/y'}\n", "line 2: bureaus.0.target"),
    ],
)
def test_check_config_bad(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, names: str
) -> None:
    path = write(tmp_path, text)
    assert check_config(path) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"asyncpdf: {path}: {names}: ")


def test_check_config_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_config(tmp_path / "nowhere.yaml") == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "cannot read config" in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param(
            b"bureaus:\n  - name: B\n    target: ftp://plates:s3cret@host/in: now\n",
            ": line 3, column 40: not valid YAML (mapping values are not allowed here)",
            id="yaml",
        ),
        pytest.param(
            b"web: {host: caf\xe9}\n", ": not UTF-8 text (byte 0xe9 at offset 15)", id="utf8"
        ),
    ],
)
def test_check_config_unreadable_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(content)
    assert check_config(path) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"asyncpdf: {path}{message}")
    assert len(err.splitlines()) == 1, err
    assert "s3cret" not in err
    assert "Traceback" not in err


def test_check_config_bad_env_names_the_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASYNCPDF_WEB__PORT", "notaport")
    assert check_config(SHIPPED) == 2
    err = capsys.readouterr().err
    assert err == (
        "asyncpdf: environment ASYNCPDF_WEB__PORT: "
        "Input should be a valid integer, unable to parse string as an integer\n"
    )

"""No secret ever shows (issue 12, point 7): the real service (a subprocess logging at DEBUG)
delivers to FTP targets with passwords in the URL, in a file and in the environment, and
notifies through Telegram (token from the environment), smsc (password from a file) and
webhooks (auth header and signing secret), with a wrong login, a server that echoes the
password it was given and notifiers that echo the request back, so error paths run too. Then
every place a person or a program could read is searched for each secret: the database and
its WAL as raw bytes, the service's log, every API answer, the live log, the page and its
static files, the files the service writes, and `asyncpdf check-config` on good and bad
configs.

Every secret holds a unique core ("UNIQ-nnnn"), and the search is for the core, so a secret
that shows cut, URL-encoded or without its "Bearer " is found too.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
import yaml
from pyftpdlib.handlers import FTPHandler

from asyncpdf.errors import NotifyError
from asyncpdf.notify import Notice, NotifySettings, channels
from asyncpdf.testing.samples import SamplePage, signa_marks, write_sample
from asyncpdf.web.pages import STATIC
from tests.support import BUREAUS, PRESSES, Service, shop_config, wait_for
from tests.support.endpoints import ECHO, SMS, TELEGRAM, WEBHOOK, Endpoints
from tests.support.ftpserver import FtpServer

MakeService = Callable[..., Service]

FTP_PASSWORD = "Ftp-P4ss-UNIQ-7731"  # in the bureau's target URL
FTP_FILE_PASSWORD = "Ftp-File-P4ss-UNIQ-6604"  # password_file, for a bureau and the previews
FTP_WRONG_PASSWORD = "Ftp-Wrong-P4ss-UNIQ-3391"  # in a URL, refused by the server
FTP_ECHO_PASSWORD = "Ftp-Echo-P4ss-UNIQ-5150"  # password_env, quoted back by the server
TG_TOKEN = "123456:TG-TOKEN-UNIQ-4419"  # token_env
SMS_PASSWORD = "Sms-P4ss-UNIQ-2290"  # password_file
HOOK_AUTH = "Bearer HOOK-AUTH-UNIQ-5512"  # auth_value
HOOK_SECRET = "HOOK-SECRET-UNIQ-8837"  # secret (signs the body)
SECRETS = (
    FTP_PASSWORD,
    FTP_FILE_PASSWORD,
    FTP_WRONG_PASSWORD,
    FTP_ECHO_PASSWORD,
    TG_TOKEN,
    SMS_PASSWORD,
    HOOK_AUTH,
    HOOK_SECRET,
)


def core(secret: str) -> str:
    found = re.search(r"UNIQ-\d{4}", secret)
    assert found is not None, secret
    return found[0]


CORES = tuple(map(core, SECRETS))
TG_TOKEN_ENV = "ASYNCPDF_TEST_TELEGRAM_TOKEN"
FTP_ECHO_ENV = "ASYNCPDF_TEST_FTP_PASSWORD"
PRESS = "Speedmaster"
# The jobs: two delivered, one refused for a wrong password, one whose server echoes it.
JOBS = {"Leonov": "done", "Korol": "done", "Vonoel": "failed", "Pechatnik": "failed"}
# No transfer here hangs: the servers run in this process, which a busy machine may slow.
TIMEOUTS = "timeout_s=30&idle_s=30"


NOTICE = Notice(
    job_id=1,
    order="3001",
    order_name="Каталог",
    file_name="3001_Каталог_Leonov.pdf",
    bureau="Leonov",
    press=PRESS,
    plates=8,
    deliveries=(),
    bureau_failed=False,
    import_mode=False,
    job_state="done",
)


class ShopFtp(FtpServer):
    """The support server with the shop's logins beside its own test users."""

    def __init__(self, root: Path, logins: dict[str, str], **options: Any) -> None:
        super().__init__(root, **options)
        self.logins = logins

    def _handler(self) -> type[FTPHandler]:
        handler = super()._handler()
        for user, password in self.logins.items():
            handler.authorizer.add_user(user, password, str(self.root), perm="elradfmwMT")
        return handler


def leaks(text: str | bytes) -> list[str]:
    """The secrets (by their cores) that `text` shows."""
    data = text.encode() if isinstance(text, str) else text
    return [core for core in CORES if core.encode() in data]


def assert_no_leaks(sources: dict[str, str | bytes]) -> None:
    found = {name: leaks(text) for name, text in sources.items()}
    found = {name: cores for name, cores in found.items() if cores}
    assert not found, f"secrets shown: {found}"


@pytest.fixture
def secret_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """The file and environment sources of the secrets; the service inherits the environment."""
    folder = tmp_path / "secrets"
    folder.mkdir()
    files = {"ftp": folder / "ftp.password", "sms": folder / "smsc.password"}
    files["ftp"].write_text(FTP_FILE_PASSWORD + "\n")
    files["sms"].write_text(SMS_PASSWORD + "\n")
    monkeypatch.setenv(TG_TOKEN_ENV, TG_TOKEN)
    monkeypatch.setenv(FTP_ECHO_ENV, FTP_ECHO_PASSWORD)
    return files


@pytest.fixture
def debug_logging(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The service and its pool workers log at DEBUG (aioftp logs every FTP reply there): a
    sitecustomize on PYTHONPATH configures logging before `asyncpdf` does, whose basicConfig
    then leaves it alone."""
    folder = tmp_path / "debug-logging"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(
        "import logging\n"
        "logging.basicConfig(level=logging.DEBUG, "
        "format='%(asctime)s %(levelname)s %(name)s: %(message)s')\n"
    )
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))
    )


@pytest.fixture
def ftp_servers(tmp_path: Path) -> Iterator[tuple[ShopFtp, FtpServer]]:
    good = ShopFtp(tmp_path / "ftp", {"bureau": FTP_PASSWORD, "filer": FTP_FILE_PASSWORD})
    good.start()
    # Refuses every login quoting the password it got, as careless servers do.
    echo = FtpServer(tmp_path / "ftp-echo", echo_password=True).start()
    yield good, echo
    good.stop()
    echo.stop()


@pytest.fixture
async def fake() -> AsyncIterator[Endpoints]:
    async with Endpoints(latency_s=0.02) as endpoints:
        # One recipient of each channel is a server that quotes the whole request in its
        # error: the token in the path, the password in the form, the auth header.
        endpoints.script(TELEGRAM, "12", then=ECHO)
        endpoints.script(SMS, "+380502222222", then=ECHO)
        endpoints.script(WEBHOOK, "echoing", then=ECHO)
        yield endpoints


def secret_config(
    root: Path, good: FtpServer, echo: FtpServer, fake_url: str, files: dict[str, Path]
) -> dict[str, Any]:
    """A config for the shop under `root` with every kind of secret, as overrides of
    shop_config."""
    ftp = f"ftp://{{login}}@127.0.0.1:{good.port}/{{folder}}?{TIMEOUTS}"
    by_file = f"password_file={files['ftp']}"
    bureaus = {
        "Leonov": ftp.format(login=f"bureau:{FTP_PASSWORD}", folder="Leonov"),
        "Korol": ftp.format(login="filer", folder="Korol") + f"&{by_file}",
        "Vonoel": ftp.format(login=f"bureau:{FTP_WRONG_PASSWORD}", folder="Vonoel"),
        "Pechatnik": f"ftp://echo@127.0.0.1:{echo.port}/Pechatnik?{TIMEOUTS}"
        f"&password_env={FTP_ECHO_ENV}",
    }
    presses = copy.deepcopy(list(PRESSES))
    presses[0]["preview_target"] = ftp.format(login="filer", folder="previews") + f"&{by_file}"
    hook = {"auth_header": "Authorization", "auth_value": HOOK_AUTH, "secret": HOOK_SECRET}
    return {
        "bureaus": [
            {
                "name": name,
                "target": bureaus.get(name, (root / "outbox" / name).as_uri()),
                "notify": name != "Admin",
            }
            for name in BUREAUS
        ],
        "presses": presses,
        "delivery": {"attempts": 2, "backoff_s": 0.1},
        "notify": {
            "timeout_s": 30,
            "attempts": 2,
            "backoff_s": 0.1,
            "max_delay_s": 0.2,
            "telegram": {
                "token_env": TG_TOKEN_ENV,
                "api_url": fake_url,
                "chats": [{"id": 11, "admin": True}, {"id": 12}],
            },
            "sms": {
                "login": "shop",
                "password_file": str(files["sms"]),
                "api_url": fake_url,
                "phones": [{"number": "+380501111111"}, {"number": "+380502222222"}],
            },
            "webhooks": [
                {"url": f"{fake_url}/hook/signed", "name": "signed", **hook},
                {"url": f"{fake_url}/hook/echoing", "name": "echoing", **hook},
            ],
        },
    }


def drop_plate(service: Service, folder: Path, bureau: str, order: int) -> None:
    """A plate for `bureau`, copied in under a name the watcher ignores, then renamed."""
    page = SamplePage((1030, 770), marks=signa_marks(bureau, PRESS, (900, 640)))
    sample = write_sample(folder / f"{order}_Каталог_{bureau}.pdf", [page, page])
    part = service.hotfolder / f"{sample.name}.part"
    shutil.copy(sample, part)
    part.rename(service.hotfolder / sample.name)


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with http.get(url) as response:
        return response.status, await response.text()


async def all_settled(
    http: aiohttp.ClientSession, service: Service, count: int
) -> dict[int, dict[str, Any]]:
    """Each job's detail once `count` jobs have ended and no notice is pending any more."""

    async def check() -> dict[int, dict[str, Any]] | None:
        status, text = await get(http, f"{service.url}/api/jobs?limit=500")
        jobs = json.loads(text)["jobs"] if status == 200 else []
        if len(jobs) < count or any(j["state"] not in ("done", "failed") for j in jobs):
            return None
        details = {}
        for job in jobs:
            async with http.get(f"{service.url}/api/jobs/{job['id']}") as response:
                details[job["id"]] = await response.json()
        pending = [
            n
            for d in details.values()
            for n in d["notifications"]
            if n["state"] in ("pending", "sending")
        ]
        return None if pending else details

    return dict(await wait_for(check, 180, f"{count} jobs ended and notified", 0.2))


@contextlib.asynccontextmanager
async def live_log(http: aiohttp.ClientSession, service: Service) -> AsyncIterator[list[str]]:
    """Every message of the live log while the block runs."""
    seen: list[str] = []
    ws = await http.ws_connect(f"{service.url}/ws")

    async def read() -> None:
        async for message in ws:
            seen.append(str(message.data))

    task = asyncio.create_task(read())
    try:
        yield seen
    finally:
        await ws.close()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def service_files(root: Path) -> dict[str, bytes]:
    """Whatever the service wrote under var/ (database, WAL, error notes, previews...)."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted((root / "var").rglob("*"))
        if path.is_file()
    }


async def test_no_secret_shows_anywhere(
    make_service: MakeService,
    http: aiohttp.ClientSession,
    tmp_path: Path,
    secret_files: dict[str, Path],
    debug_logging: None,
    ftp_servers: tuple[ShopFtp, FtpServer],
    fake: Endpoints,
) -> None:
    good, echo = ftp_servers
    service = make_service(**secret_config(tmp_path, good, echo, fake.url, secret_files))
    await service.start()
    sources: dict[str, str | bytes] = {}

    async with live_log(http, service) as live:
        for order, bureau in enumerate(JOBS, start=3001):
            drop_plate(service, tmp_path / "plates", bureau, order)
        details = await all_settled(http, service, len(JOBS))
        # The live log trails the store a little; the last job's notices are the last events.
        await asyncio.sleep(0.5)

    # The run went as planned, so every error path has run.
    states = {d["analysis"]["bureau"]: d["job"]["state"] for d in details.values()}
    assert states == JOBS
    for detail in details.values():
        notices = {(n["channel"], n["address"]): n["state"] for n in detail["notifications"]}
        assert notices == {
            (TELEGRAM, "11"): "sent",
            (TELEGRAM, "12"): "failed",
            (SMS, "+380501111111"): "sent",
            (SMS, "+380502222222"): "failed",
            (WEBHOOK, "signed"): "sent",
            (WEBHOOK, "echoing"): "failed",
        }
    errors = " ".join(str(d["error"]) for detail in details.values() for d in detail["deliveries"])
    assert "login refused (530 Authentication failed.)" in errors
    assert "login refused (530 Password *** is not right.)" in errors  # the echo blotted out
    assert any(to.startswith("previews/") for _, to in good.renamed)  # the press got previews
    assert live, "the live log said nothing"
    # The fakes did get the secrets: had the service sent none, finding none would prove nothing.
    assert fake.of(TELEGRAM, "11")[0].path == f"/bot{TG_TOKEN}/sendMessage"
    assert fake.of(SMS, "+380501111111")[0].form()["psw"] == SMS_PASSWORD
    assert fake.of(WEBHOOK, "signed")[0].headers["Authorization"] == HOOK_AUTH
    assert "X-Asyncpdf-Signature" in fake.of(WEBHOOK, "signed")[0].headers

    sources["live log (/ws)"] = "\n".join(live)
    for job_id in details:
        sources[f"/api/jobs/{job_id}"] = (await get(http, f"{service.url}/api/jobs/{job_id}"))[1]
    for path in (
        "/api/jobs?limit=500",
        "/api/log?limit=500",
        "/api/status",
        "/api/import-mode",
        "/readyz",
        "/healthz",
        "/metrics",
        "/",
        "/api/jobs/999999",
        "/api/jobs?limit=x",
        *(f"/static/{p.name}" for p in STATIC.iterdir()),
    ):
        status, text = await get(http, service.url + path)
        assert status < 500, (path, status)
        sources[path] = text
    for name, data in service_files(tmp_path).items():
        sources[f"{name} (running)"] = data
    service.stop()
    # After the stop the WAL has been checkpointed into the database file.
    for name, data in service_files(tmp_path).items():
        sources[f"{name} (stopped)"] = data
    sources["service log"] = service.log_text()

    assert any(name.endswith("asyncpdf.sqlite3-wal (running)") for name in sources)
    assert "DEBUG aioftp.client" in str(sources["service log"])  # the DEBUG lines were there
    assert_no_leaks(sources)


async def test_an_answer_quoting_the_sms_form_hides_a_password_that_encoding_changes() -> None:
    """The channel alone against the fake smsc, whose error quotes the request body."""
    password = "Sms P4ss+UNIQ/2290&x"
    encoded = urlencode({"psw": password}).removeprefix("psw=")
    phone = "+380502222222"
    async with Endpoints() as fake, aiohttp.ClientSession() as session:
        fake.script(SMS, phone, then=ECHO)
        settings = NotifySettings.model_validate(
            {
                "sms": {
                    "login": "shop",
                    "password": password,
                    "api_url": fake.url,
                    "phones": [{"number": phone}],
                }
            }
        )
        with pytest.raises(NotifyError) as raised:
            await channels(settings)[SMS].send(session, NOTICE, phone)
    assert fake.of(SMS, phone)[0].form()["psw"] == password  # it was sent, and echoed
    assert encoded not in str(raised.value) and password not in str(raised.value)


# check-config


def check_config(config: Path) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "asyncpdf", "check-config", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.fixture
def good_config(tmp_path: Path, secret_files: dict[str, Path]) -> dict[str, Any]:
    """The secret config, with servers that need not exist: check-config connects to none."""
    servers = FtpServer(tmp_path / "a", port=2121), FtpServer(tmp_path / "b", port=2122)
    overrides = secret_config(tmp_path, *servers, "http://127.0.0.1:9", secret_files)
    return shop_config(tmp_path, **overrides)


def write(tmp_path: Path, data: dict[str, Any] | str) -> Path:
    path = tmp_path / "check.yaml"
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True)
    path.write_text(text)
    return path


def literal_telegram(config: dict[str, Any], **telegram: Any) -> None:
    """The token written in the file, not taken from the environment."""
    section = config["notify"]["telegram"]
    del section["token_env"]
    section.update({"token": TG_TOKEN, **telegram})


def bad_port(config: dict[str, Any]) -> str:
    config["web"]["port"] = 70000
    return "web.port: Input should be less than or equal to 65535"


def bad_chat(config: dict[str, Any]) -> str:
    literal_telegram(config, chats=[{"id": "not a chat"}])
    return "notify.telegram.chats.0: id must be a chat id"


def bad_token(config: dict[str, Any]) -> str:
    literal_telegram(config, token=f"{TG_TOKEN}/../getUpdates")
    return "not a bot token"


def token_twice(config: dict[str, Any]) -> str:
    literal_telegram(config, token_env=TG_TOKEN_ENV)
    return "one way"


def unknown_telegram_key(config: dict[str, Any]) -> str:
    literal_telegram(config, tokne=TG_TOKEN)
    return "tokne"


def bad_phone(config: dict[str, Any]) -> str:
    sms = config["notify"]["sms"]
    del sms["password_file"]
    sms.update(password=SMS_PASSWORD, phones=[{"number": "call me"}])
    return "notify.sms.phones.0"


def auth_without_header(config: dict[str, Any]) -> str:
    del config["notify"]["webhooks"][0]["auth_header"]
    return "auth_header"


def bad_ftp_option(config: dict[str, Any]) -> str:
    config["bureaus"][0]["target"] += "&mode=sideways"
    return "mode"


def bad_ftp_port(config: dict[str, Any]) -> str:
    target = config["bureaus"][0]["target"]
    config["bureaus"][0]["target"] = re.sub(r":\d+/", ":99999/", target)
    return "port"


def password_twice(config: dict[str, Any]) -> str:
    config["bureaus"][0]["target"] += f"&password_env={FTP_ECHO_ENV}"
    return "one way"


@pytest.mark.parametrize(
    "spoil",
    [
        bad_port,
        bad_chat,
        bad_token,
        token_twice,
        unknown_telegram_key,
        bad_phone,
        auth_without_header,
        bad_ftp_option,
        bad_ftp_port,
        password_twice,
    ],
)
def test_check_config_errors_name_the_field_never_the_secret(
    tmp_path: Path, good_config: dict[str, Any], spoil: Callable[[dict[str, Any]], str]
) -> None:
    config = copy.deepcopy(good_config)
    field = spoil(config)
    code, output = check_config(write(tmp_path, config))
    assert code == 2 and field in output, output
    assert leaks(output) == [], output


def test_check_config_of_unparsable_yaml_on_a_secret_line_shows_no_secret(
    tmp_path: Path, good_config: dict[str, Any]
) -> None:
    literal_telegram(good_config)
    text = yaml.safe_dump(good_config, allow_unicode=True)
    assert f"token: {TG_TOKEN}" in text
    line = text[: text.index(f"token: {TG_TOKEN}")].count("\n") + 1
    # PyYAML's own message would quote this line, token and all.
    broken = text.replace(f"token: {TG_TOKEN}", f"token: {TG_TOKEN}: x")
    code, output = check_config(write(tmp_path, broken))
    assert code == 2 and f"line {line}, column" in output and "not valid YAML" in output, output
    assert leaks(output) == [], output


def test_check_config_of_a_good_config_shows_no_secret(
    tmp_path: Path, good_config: dict[str, Any]
) -> None:
    literal_telegram(good_config)
    code, output = check_config(write(tmp_path, good_config))
    assert code == 0 and ": ok (" in output, output
    assert leaks(output) == [], output

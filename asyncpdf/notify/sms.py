"""SMS through smsc's HTTP API (`/sys/send.php`, JSON answers)."""

from __future__ import annotations

import aiohttp

from asyncpdf.errors import NotifyError
from asyncpdf.notify.messages import sms_text
from asyncpdf.notify.notice import Notice
from asyncpdf.notify.settings import SmsSettings
from asyncpdf.notify.transport import failure, post

#: smsc's error codes that only a person can fix; 4 (IP blocked for a while) and 9 (the same
#: request too often) pass, and so may codes it adds later.
_PERMANENT = {
    1: "",
    2: "check notify.sms.login and the password",
    3: "top up the smsc account",
    5: "",
    6: "smsc forbids this text or sender name",
    7: "check the number in notify.sms.phones",
    8: "",
}


class SmsChannel:
    def __init__(self, settings: SmsSettings, timeout_s: float) -> None:
        self._settings = settings
        self._timeout_s = timeout_s
        self._phones = {phone.number for phone in settings.phones}

    async def send(self, session: aiohttp.ClientSession, notice: Notice, address: str) -> None:
        what = f"SMS to {address}"
        if address not in self._phones:
            raise NotifyError(f"{what}: no longer in notify.sms.phones", permanent=True)
        password = self._settings.password.get_secret_value()
        # A form body, not the query: the password stays out of URLs and access logs.
        form = {
            "login": self._settings.login,
            "psw": password,
            "phones": address,
            "mes": sms_text(notice, self._settings.template),
            "charset": "utf-8",
            "fmt": "3",
        }
        answer = await post(
            session,
            f"{self._settings.api_url.rstrip('/')}/sys/send.php",
            form,
            what=f"smsc ({what})",
            timeout_s=self._timeout_s,
            secrets=(password,),
        )
        if not answer.ok:
            raise failure(f"smsc ({what})", answer.status, answer.text)
        data = answer.data if isinstance(answer.data, dict) else {}
        if "id" in data and "error" not in data:
            return
        # smsc reports its errors with HTTP 200.
        code = data.get("error_code")
        code = code if isinstance(code, int) else None
        hint = _PERMANENT.get(code) if code is not None else None
        message = f"smsc did not send the {what}: {data.get('error') or answer.text or 'no answer'}"
        if code is not None:
            message += f" (error {code})" + (f"; {hint}" if hint else "")
        raise NotifyError(message, permanent=hint is not None)

"""Where a planned delivery goes. Its plan was fixed when it was planned and is in its row:
the target as shown (no password) and the remote name. What the row does not hold is taken
as it is now: the password from the config, the file from the spool or the previews. A target
the config has changed since is never sent to in silence: the plan names the target as the
config gives it now, and the scheduler writes it to the row and the job's log before sending."""

from __future__ import annotations

from dataclasses import replace

from asyncpdf.config import Settings
from asyncpdf.domain.records import Delivery
from asyncpdf.errors import AsyncPdfError
from asyncpdf.intake.spool import Spool
from asyncpdf.pipeline import steps
from asyncpdf.store import Store


class Plans:
    def __init__(self, settings: Settings, store: Store, spool: Spool) -> None:
        self._settings = settings
        self._store = store
        self._spool = spool

    async def of(self, delivery: Delivery) -> steps.Plan:
        job = await self._store.jobs.get(delivery.job_id)
        if job.analysis is None:
            raise AsyncPdfError(f"job {job.id} has no analysis to deliver by")
        source = self._spool.path(job.id, job.name)
        found = steps.plan_deliveries(self._settings, job.name, source, job.analysis, job.artefacts)
        plan = next((plan for plan in found if plan.kind == delivery.kind), None)
        if plan is None:
            raise AsyncPdfError(
                f"{delivery.kind} is no longer a target of this job (changed in the config?)"
            )
        return replace(plan, remote_name=delivery.remote_name or plan.remote_name)

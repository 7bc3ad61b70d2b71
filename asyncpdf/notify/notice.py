"""What a notification is made from: the facts of one finished job, built by the caller from
the job's records. Pure data; the messages and the webhook body are made from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

#: The kind of the delivery that takes the original to the CTP bureau (pipeline.steps.BUREAU;
#: not imported from there: the pipeline is a layer above this package).
BUREAU_KIND = "bureau"


class DeliveryLine(NamedTuple):
    """One delivery of the job as people may see it: the target without its password."""

    kind: str
    shown_target: str
    state: str
    error: str | None = None


@dataclass(frozen=True)
class Notice:
    job_id: int
    order: str
    order_name: str
    file_name: str
    bureau: str
    press: str
    plates: int
    deliveries: tuple[DeliveryLine, ...]
    bureau_failed: bool
    import_mode: bool
    job_state: str
    warnings: int = 0
    #: The job's page, when the service knows the address it is reached at.
    url: str | None = None
    #: Why the job failed, when it did (shown when the bureau got nothing).
    error: str | None = None

    @property
    def bureau_error(self) -> str | None:
        """Why the bureau did not get the file: its delivery's error, else the job's."""
        found = next((d.error for d in self.deliveries if d.kind == BUREAU_KIND and d.error), None)
        return found or self.error

    def to_json(self) -> dict[str, Any]:
        """The webhook body. Keys are part of the webhook's contract: add, never rename."""
        return {
            "job_id": self.job_id,
            "job_state": str(self.job_state),
            "file_name": self.file_name,
            "order": self.order,
            "order_name": self.order_name,
            "bureau": self.bureau,
            "press": self.press,
            "plates": self.plates,
            "bureau_failed": self.bureau_failed,
            "import_mode": self.import_mode,
            "warnings": self.warnings,
            "error": self.error,
            "url": self.url,
            "deliveries": [
                {
                    "kind": d.kind,
                    "target": d.shown_target,
                    "state": str(d.state),
                    "error": d.error,
                }
                for d in self.deliveries
            ],
        }

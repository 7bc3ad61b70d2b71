"""Per-target gates: a target's own connection limit, and a failing target backed off as a
whole with one probe at a time."""

from __future__ import annotations

import time
from dataclasses import dataclass

from asyncpdf.sending.gates import Gates, connections_of

HUNG = "ftp://ctp@10.0.0.9/in"
OTHER = "sftp://out@10.0.0.7/in"


@dataclass(frozen=True)
class Row:
    target: str
    n: int = 0


def test_a_target_takes_at_most_its_connections() -> None:
    gates = Gates(backoff_s=5, max_delay_s=60, parallel=16)
    rows = [Row(f"{HUNG}?connections=3", n) for n in range(5)] + [Row(OTHER, n) for n in range(5)]
    taken = gates.admit(rows, time.time(), limit=10)
    assert [r.target for r in taken].count(f"{HUNG}?connections=3") == 3
    assert [r.target for r in taken].count(OTHER) == 2  # the default
    for row in taken:
        gates.enter(row.target)
    assert gates.closed(time.time()) == {f"{HUNG}?connections=3", OTHER}
    gates.leave(OTHER)
    assert gates.closed(time.time()) == {f"{HUNG}?connections=3"}


def test_a_failing_target_waits_as_a_whole_then_is_probed_once_at_a_time() -> None:
    gates = Gates(backoff_s=60, max_delay_s=600, parallel=16)
    gates.enter(HUNG)
    gates.enter(HUNG)
    probe_at = gates.failed(HUNG, "no answer in time while connecting")
    gates.leave(HUNG)
    assert probe_at > time.time()
    # The other attempt still under way: nothing more goes, now or once the probe is due.
    assert HUNG in gates.closed(probe_at + 1)
    gates.leave(HUNG)
    assert HUNG in gates.closed(time.time())
    assert gates.next_probe_at(time.time()) == probe_at
    assert gates.next_probe_at(probe_at + 1) is None
    rows = [Row(HUNG, n) for n in range(4)] + [Row(OTHER)]
    assert gates.admit(rows, time.time(), limit=5) == [Row(OTHER)]
    assert gates.admit(rows, probe_at, limit=5) == [Row(HUNG, 0), Row(OTHER)]
    assert gates.as_json(HUNG)["state"] == "failing"
    since = gates.as_json(HUNG)["failing_since"]
    gates.failed(HUNG, "no answer again")
    assert since is not None and gates.as_json(HUNG)["failing_since"] == since

    gates.enter(HUNG)
    gates.sent(HUNG)
    gates.leave(HUNG)
    assert len(gates.admit(rows, time.time(), limit=5)) == 3
    assert gates.as_json(HUNG)["state"] == "ok" and gates.as_json(HUNG)["failing_since"] is None


def test_connections_come_from_the_target() -> None:
    assert connections_of("ftp://h/in?mode=active&connections=7", parallel=16) == 7
    assert connections_of("ftps://h/in", parallel=16) == 2
    assert connections_of("sftp://h/in", parallel=16) == 2


def test_a_folder_takes_as_many_as_the_deliveries_at_once() -> None:
    # A folder is not a server with a limit of logins: a burst's copies go side by side.
    assert connections_of("file:///srv/bureau/in", parallel=16) == 16
    gates = Gates(backoff_s=5, max_delay_s=60, parallel=8)
    rows = [Row("file:///srv/bureau/in")] * 10
    assert len(gates.admit(rows, time.time(), limit=10)) == 8

"""The figures table the benchmarks print: one row per figure, its floor and whether it was met,
headed by the machine's cores, the date and the load average (this machine is shared)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass
class Row:
    """One line of the figures table."""

    figure: str
    seconds: float | None  # the measured value (seconds), or None when ``text`` says it
    floor: float | None = None  # seconds; None: no floor
    text: str = ""  # shown instead of / after the value
    profile: Callable[[], Any] | None = None  # what to profile if the floor is missed

    @property
    def met(self) -> bool | None:
        if self.floor is None or self.seconds is None:
            return None
        return self.seconds <= self.floor


def print_table(rows: list[Row], started: datetime, notes: list[str], *, measured: int = 26, floor: int = 13) -> None:
    """The table; ``measured`` and ``floor``: the widths of those columns."""
    print(f"\nfigures ({os.cpu_count()} cores, {started:%Y-%m-%d %H:%M %Z}, load average at the end {load_average()})")
    width = max(len(r.figure) for r in rows)
    print(f"  {'figure':<{width}} | {'measured':>{measured}} | {'floor':>{floor}} | met?")
    print(f"  {'-' * width}-+-{'-' * measured}-+-{'-' * floor}-+-----")
    for r in rows:
        value = r.text if r.seconds is None else (ms(r.seconds) + (f" {r.text}" if r.text else ""))
        limit = f"<= {ms(r.floor)}" if r.floor is not None else "-"
        met = {None: "-", True: "yes", False: "NO"}[r.met]
        print(f"  {r.figure:<{width}} | {value:>{measured}} | {limit:>{floor}} | {met}")
    for note in notes:
        print(f"  note: {note}")


def ms(seconds: float | None) -> str:
    """Milliseconds below 10 s, seconds above."""
    if seconds is None:
        return "-"
    return f"{seconds * 1000:,.1f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages."""
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"

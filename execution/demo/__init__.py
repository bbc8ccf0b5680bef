"""The demo workspace created on first start: a few banking prompts, a small dataset
with synthetic (clearly fake) PII, and recorded runs through the governed pipeline; on
request (``seed-demo --runs N``), a year of synthetic history in it (``history``)."""

from execution.demo.seed import demo_status, seed_demo

__all__ = ["demo_status", "seed_demo"]

"""``config.models.leave_cores_to_workers``: torch leaves the PII workers their cores while a
batch runs, and gets them back afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from config.models import leave_cores_to_workers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def torch_threads():
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(4)
    yield torch
    torch.set_num_threads(before)


def test_torch_keeps_the_cores_the_workers_leave_and_gets_them_back(torch_threads, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    with leave_cores_to_workers(1):
        assert torch_threads.get_num_threads() == 3
        with leave_cores_to_workers(1):  # nested: the same cores, then the outer setting again
            assert torch_threads.get_num_threads() == 3
        assert torch_threads.get_num_threads() == 3
    assert torch_threads.get_num_threads() == 4
    with leave_cores_to_workers(8):  # more workers than cores: torch still has one
        assert torch_threads.get_num_threads() == 1
    assert torch_threads.get_num_threads() == 4


def test_no_workers_changes_nothing_and_an_error_still_restores(torch_threads, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    with leave_cores_to_workers(0):
        assert torch_threads.get_num_threads() == 4
    with pytest.raises(RuntimeError), leave_cores_to_workers(1):
        assert torch_threads.get_num_threads() == 1
        raise RuntimeError("a batch failed")
    assert torch_threads.get_num_threads() == 4


def test_the_setting_belongs_to_the_calling_thread(torch_threads, monkeypatch):
    """Another thread's batch (another browser session's evaluation) keeps its own setting."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    inside, release = threading.Event(), threading.Event()
    seen = []

    def batch():
        with leave_cores_to_workers(1):
            seen.append(torch_threads.get_num_threads())
            inside.set()
            release.wait(10)

    t = threading.Thread(target=batch)
    t.start()
    inside.wait(10)
    seen.append(torch_threads.get_num_threads())  # this thread, while the other's batch runs
    release.set()
    t.join(10)
    assert seen == [1, 4]


def test_a_process_without_torch_does_not_import_it():
    code = (
        "import sys; from config.models import leave_cores_to_workers\n"
        "with leave_cores_to_workers(1): pass\n"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

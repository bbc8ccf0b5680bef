"""Analysis shared with worker processes: same results, fail closed, no leftovers, no network."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from config.errors import ScrubbingError
from config.settings import PIIPolicy, Settings
from security.pii import PseudonymMap, Scrubber
from security.pii.analysis import AnalysisParams, analyze_many, from_spans, to_spans
from security.pii.engine import default_model_path
from security.pii.parallel import AnalysisPool, analyzer_factory, get_pool, worker_count
from security.pii.selection import select
from tests.fakes.synthetic_pii import make_samples
from tests.security import fake_analyzers as fakes

ROOT = Path(__file__).resolve().parents[2]
TEXT = "Maria Gonzalez paid with card 4111 1111 1111 1111; call her on 212-555-0143."


@pytest.fixture
def make_pool():
    """``make_pool(factory)``: a one-worker pool, shut down after the test, leaving no process."""
    before = _children()
    pools: list[AnalysisPool] = []

    def make(factory, **kwargs) -> AnalysisPool:
        pools.append(AnalysisPool(factory, workers=1, **kwargs))
        return pools[-1]

    yield make
    for pool in pools:
        pool.shutdown()
    assert _children() - before == set(), "a worker process (or zombie) was left behind"


def _children() -> set[int]:
    """This process's children, but multiprocessing's resource tracker (it ends with us)."""
    return {
        p.pid
        for p in psutil.Process().children(recursive=True)
        if "resource_tracker" not in " ".join(p.cmdline())
    }


def test_worker_count_follows_the_setting():
    assert worker_count(Settings(pii_workers=0)) == 0 and get_pool(Settings(pii_workers=0)) is None
    assert worker_count(Settings(pii_workers=3)) == 3
    assert worker_count(Settings()) == len(os.sched_getaffinity(0)) - 1


@pytest.mark.slow
def test_spans_round_trip_to_the_same_selection(analyzer):
    params = AnalysisParams.for_policy(PIIPolicy())
    [results] = analyze_many(analyzer, [TEXT], params)
    rebuilt = from_spans(to_spans(results))
    assert select(TEXT, rebuilt, PIIPolicy()) == select(TEXT, results, PIIPolicy())
    assert all(isinstance(span[0], str) and TEXT not in repr(span) for span in to_spans(results))


def test_pieces_come_back_in_order_from_whichever_side_did_them(make_pool):
    """The worker tags first words, the caller's analyzer finds nothing: each piece of two
    texts is whole on one side, the caller took back only the tail of the queue, and the
    merged results are in the original order."""
    pool = make_pool(fakes.FirstWord, piece=2)
    assert pool.start(wait=True) and len(pool.worker_pids) == 1
    texts = [f"w{i} " + "x" * (i * 7 % 23) for i in range(20)]
    pending = pool.submit(texts, AnalysisParams((), 0.0))

    def slow_local(part):
        time.sleep(0.2)  # the worker keeps going meanwhile
        return [[] for _ in part]

    results = pending.result(slow_local)
    by_worker = [bool(r) for r in results]
    assert by_worker[0] and not by_worker[-1], "the worker starts at the front, the caller takes the tail"
    assert by_worker == sorted(by_worker, reverse=True), "the caller only steals from the end"
    assert all(by_worker[i] == by_worker[i + 1] for i in range(0, 20, 2)), "pieces stay whole"
    assert all(r[0].end == t.index(" ") for r, t in zip(results, texts) if r)


def test_a_job_queued_ahead_is_done_by_the_worker_meanwhile(make_pool):
    pool = make_pool(fakes.FirstWord)
    scrubber = Scrubber(PIIPolicy(default_action="tag"), analyzer=fakes.NoPII(), pool=pool)
    assert scrubber.warm_up()
    texts = [f"w{i} text" for i in range(24)]
    job = scrubber.begin(texts)
    time.sleep(1.0)  # the caller does something else; the worker analyses all three pieces
    assert [r.text for r in job.finish()] == ["<PERSON> text"] * 24
    abandoned = scrubber.begin(texts)
    abandoned.cancel()  # what no worker started is withdrawn; the pool stays usable
    assert len(scrubber.scrub_many(texts)) == 24


def test_small_batches_and_unready_pools_stay_in_process(make_pool):
    pool = make_pool(fakes.FirstWord)
    scrubber = Scrubber(PIIPolicy(default_action="tag"), analyzer=fakes.NoPII(), pool=pool)
    texts = [f"w{i} text" for i in range(20)]
    assert [r.text for r in scrubber.scrub_many(texts[:15])] == texts[:15]  # under the threshold: not started
    assert pool.worker_pids == set()
    assert [r.text for r in scrubber.scrub_many(texts)] == texts  # starts the pool, does not wait for it
    assert scrubber.warm_up() is True


def test_a_script_folder_first_on_the_path_does_not_shadow_our_packages(make_pool, tmp_path, monkeypatch):
    # an AppTest of pages/security.py puts pages/ first on sys.path, where security.py is a page
    (tmp_path / "security.py").write_text("raise ImportError('the page, not the package')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    pool = make_pool(fakes.FirstWord)
    assert pool.start(wait=True) is True and len(pool.worker_pids) == 1
    assert sys.path[0] == str(tmp_path)  # the parent's path is left as it was


def test_a_pool_that_cannot_start_falls_back_in_process(make_pool):
    pool = make_pool(fakes.cannot_load)
    scrubber = Scrubber(PIIPolicy(default_action="tag"), analyzer=fakes.FirstWord(), pool=pool)
    assert scrubber.warm_up() is False
    results = scrubber.scrub_many([f"w{i} text" for i in range(20)])
    assert all(r.text == "<PERSON> text" for r in results)
    assert pool.start(wait=True) is False  # no retry loop


def test_an_exception_in_the_worker_fails_closed_without_text(make_pool):
    pool = make_pool(fakes.ExplodesOnSecret)
    scrubber = Scrubber(PIIPolicy(), analyzer=fakes.NoPII(), pool=pool)
    assert scrubber.warm_up()
    seen = _LogCapture()
    with seen, pytest.raises(ScrubbingError) as info:
        scrubber.scrub_many([f"SECRET Maria Gonzalez {i}" for i in range(20)])
    assert (
        "not sent" in info.value.message and "Maria" not in str(info.value) and "boom" not in str(info.value)
    )
    assert info.value.__cause__ is None
    assert "RuntimeError" in seen.text and "Maria" not in seen.text and "SECRET" not in seen.text
    assert scrubber.scrub_many([f"fine {i}" for i in range(20)])  # the worker is still usable


def test_a_dead_worker_leaves_its_batch_to_the_caller_and_the_pool_restarts(make_pool):
    """A worker found dead before it was sent anything: the batch is analysed in-process
    (nothing was sent, so nothing is lost or unscrubbed) and the next batch restarts the pool."""
    pool = make_pool(fakes.NoPII)
    scrubber = Scrubber(PIIPolicy(default_action="tag"), analyzer=fakes.FirstWord(), pool=pool)
    assert scrubber.warm_up()
    [pid] = pool.worker_pids
    os.kill(pid, signal.SIGKILL)
    time.sleep(1.0)  # the executor notices the death
    texts = [f"Maria Gonzalez {i}" for i in range(20)]  # the name is completed from its first word
    assert [r.text for r in scrubber.scrub_many(texts)] == [f"<PERSON> {i}" for i in range(20)]
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() != psutil.STATUS_ZOMBIE  # reaped
    assert scrubber.warm_up()
    assert pool.worker_pids and pool.worker_pids != {pid}


def test_a_worker_that_dies_holding_a_piece_fails_the_batch_closed(make_pool):
    pool = make_pool(fakes.DiesOnSecret)
    scrubber = Scrubber(PIIPolicy(), analyzer=fakes.NoPII(), pool=pool)
    assert scrubber.warm_up()
    with pytest.raises(ScrubbingError, match="not sent"):
        scrubber.scrub_many([f"SECRET Maria Gonzalez {i}" for i in range(20)])
    assert [r.text for r in scrubber.scrub_many([f"fine {i}" for i in range(20)])][0] == "fine 0"


@pytest.mark.slow
def test_parallel_results_equal_in_process_results(analyzer, make_pool):
    """A few hundred texts, scrubbed twice (input, then "output" with the same maps)."""
    pool = make_pool(analyzer_factory(default_model_path()))
    texts = [s.text for s in make_samples(240, seed=5)] + [TEXT, "", "Nothing personal here."] * 20
    texts += [" ".join(texts[i : i + 4]) for i in range(0, 120, 4)]  # longer texts too
    inline = Scrubber(PIIPolicy(), analyzer=analyzer)
    shared = Scrubber(PIIPolicy(), analyzer=analyzer, pool=pool)
    assert shared.warm_up()
    maps_a, maps_b = [PseudonymMap() for _ in texts], [PseudonymMap() for _ in texts]
    for _ in range(2):
        expected = inline.scrub_many(texts, maps_a)
        got = shared.scrub_many(texts, maps_b)
        assert [r.text for r in got] == [r.text for r in expected]
        assert [r.to_dict() for r in got] == [r.to_dict() for r in expected]


@pytest.mark.slow
def test_workers_make_no_network_attempt(tmp_path):
    """Every Python process of the tree (parent, resource tracker, worker) loads a socket
    guard through ``sitecustomize``; a batch analysed partly in the worker tries nothing."""
    (tmp_path / "sitecustomize.py").write_text(
        GUARD.format(log=str(tmp_path / "attempts.log"), pids=str(tmp_path))
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
        "PROMPTFORGE_PII_WORKERS": "1",
    }
    proc = subprocess.run(
        [sys.executable, "-c", BATCH], check=False, env=env, cwd=ROOT, capture_output=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    assert proc.stdout.decode().split() == ["workers", "1"]
    assert len(list(tmp_path.glob("pid-*"))) >= 2, "the worker did not load the guard"
    assert not (tmp_path / "attempts.log").exists(), (tmp_path / "attempts.log").read_text()


GUARD = """
import os, socket
open(os.path.join({pids!r}, f"pid-{{os.getpid()}}"), "w").close()
def _record(kind, target):
    with open({log!r}, "a") as fh:
        fh.write(f"{{os.getpid()}} {{kind}} {{target!r}}\\n")
    raise OSError("network blocked by test")
_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex
def connect(self, address):
    return _connect(self, address) if self.family == socket.AF_UNIX else _record("connect", address)
def connect_ex(self, address):
    return _connect_ex(self, address) if self.family == socket.AF_UNIX else _record("connect_ex", address)
socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
socket.getaddrinfo = lambda host, *a, **k: _record("getaddrinfo", host)
socket.create_connection = lambda address, *a, **k: _record("create_connection", address)
"""

BATCH = textwrap.dedent(
    """
    from config.offline import apply_offline_env
    apply_offline_env()
    from config.settings import Settings
    from security.pii import get_scrubber
    scrubber = get_scrubber(Settings())
    assert scrubber.warm_up()
    texts = [f"Mail ana{i}@example.com or see https://bank{i}.example.org/x, call 212-555-01{i:02d}" for i in range(40)]
    assert all("@" not in r.text for r in scrubber.scrub_many(texts))
    print("workers", len(scrubber.pool.worker_pids))
    """
)


class _LogCapture(logging.Handler):
    """Collects what the security.pii loggers write while in a ``with`` block."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def __enter__(self):
        self._logger = logging.getLogger("security.pii")
        self._level = self._logger.level
        self._logger.setLevel(logging.DEBUG)
        self._logger.addHandler(self)
        return self

    def __exit__(self, *exc):
        self._logger.removeHandler(self)
        self._logger.setLevel(self._level)


# --- workers end with their parent -------------------------------------------------------

ORPHAN_FAKE = textwrap.dedent(
    """
    import sys, time
    from security.pii.analysis import AnalysisParams
    from security.pii.parallel import AnalysisPool
    from tests.security import fake_analyzers as fakes
    pool = AnalysisPool(fakes.FirstWord, workers=2)
    assert pool.start(wait=True)
    pool.submit([f"w{i} text" for i in range(20)], AnalysisParams((), 0.0)).result(lambda t: [[] for _ in t])
    print("PIDS", *sorted(pool.worker_pids), flush=True)
    time.sleep(600)
    """
)

ORPHAN_PRODUCTION = textwrap.dedent(
    """
    import time
    from config.offline import apply_offline_env
    apply_offline_env()
    from config.settings import Settings
    from security.pii import get_scrubber
    scrubber = get_scrubber(Settings())
    assert scrubber.warm_up()
    texts = [f"Call Jane Doe{i} on 212-555-01{i:02d}" for i in range(20)]
    assert scrubber.scrub_many(texts)
    print("PIDS", *sorted(scrubber.pool.worker_pids), flush=True)
    time.sleep(600)
    """
)


def _gone(proc: psutil.Process) -> bool:
    """Whether ``proc`` ended: no longer running (pid gone or reused) or a zombie (a
    grandchild we cannot reap; its parent, now init, will)."""
    try:
        if not proc.is_running():
            return True
        status = Path(f"/proc/{proc.pid}/status").read_text()
    except (psutil.Error, OSError):
        return True
    state = next((line.split()[1] for line in status.splitlines() if line.startswith("State:")), "")
    return state == "Z"


def _orphaned_workers_exit(script: str, workers: int, start_timeout: float) -> None:
    """Run ``script`` (starts a pool, prints ``PIDS ...``, sleeps) in a child process,
    SIGKILL the child, and check each worker exits on its own soon after."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PROMPTFORGE_PII_WORKERS": str(workers)}
    child = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    procs: list[psutil.Process] = []  # the child's descendants: workers and resource tracker
    try:
        line = _read_line(child, start_timeout)
        assert line.startswith("PIDS "), f"no worker pids from the child: {line!r}"
        procs = psutil.Process(child.pid).children(recursive=True)
        workers_seen = [p for p in procs if "spawn_main" in " ".join(p.cmdline())]
        # one worker may have answered every ping: the pool's pids are some of the workers
        assert {int(pid) for pid in line.split()[1:]} <= {p.pid for p in workers_seen}
        assert len(workers_seen) == workers and all(p.ppid() == child.pid for p in workers_seen)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not all(_gone(p) for p in workers_seen):
            time.sleep(0.2)
        left = [p.pid for p in workers_seen if not _gone(p)]
        assert not left, f"worker processes {left} outlived their killed parent"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
        for proc in procs:  # never leave a process behind, even when the test fails
            try:
                if proc.is_running():
                    proc.kill()
            except psutil.Error:
                pass


def _read_line(child: subprocess.Popen, timeout: float) -> str:
    """The child's first line of output, or a failure with its stderr after ``timeout``."""
    import threading

    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(child.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not lines or not lines[0]:
        child.kill()
        raise AssertionError(f"the child printed no pids: {child.stderr.read()[-3000:]}")
    return lines[0].strip()


def test_workers_exit_when_their_parent_is_killed():
    _orphaned_workers_exit(ORPHAN_FAKE, workers=2, start_timeout=120)


@pytest.mark.slow
def test_production_workers_exit_when_their_parent_is_killed():
    """As ``python launch.py batch`` starts them (the real model), then ``kill -9`` of the batch."""
    _orphaned_workers_exit(ORPHAN_PRODUCTION, workers=1, start_timeout=300)

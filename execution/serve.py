"""``python launch.py``: serve the Streamlit app; seed the demo workspace on first start.

The demo is seeded in this launcher process while Streamlit starts in its own, so
the first page is served without waiting for spaCy or TruLens to load.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from config.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def serve(settings: Settings, host: str = "localhost", port: int = 8501, demo: bool = True) -> int:
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "server.py"),
        "--server.port", str(port),
        "--server.address", host,
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        # Streamlit's welcome message looks up the machine's public address on the internet when
        # bound to all interfaces; the launcher prints the address itself
        "--logger.hideWelcomeMessage", "true",
    ]
    env = dict(os.environ)
    if settings.single_user:
        env["PROMPTFORGE_SINGLE_USER"] = "true"
        print("PromptForge: single-user mode: no login; audit events are marked single-user.", flush=True)
    else:
        from security.identity.bootstrap import first_start

        first_start(settings, demo=demo, out=lambda text: print(text, flush=True))
    print(f"PromptForge: serving on http://{host}:{port}  (database: {settings.display_database_url()})", flush=True)
    app = subprocess.Popen(cmd, cwd=ROOT, env=env)
    # stopping the launcher (SIGTERM from a supervisor, a test or a benchmark) stops the server too
    signal.signal(signal.SIGTERM, lambda *_: app.terminate())
    if demo:
        threading.Thread(target=_seed_quietly, args=(settings,), daemon=True, name="demo-seed").start()
    try:
        return app.wait()
    except KeyboardInterrupt:
        app.terminate()
        return app.wait(timeout=10)
    finally:
        if app.poll() is None:
            app.kill()


def _seed_quietly(settings: Settings) -> None:
    from execution.demo import seed_demo

    try:
        result = seed_demo(settings, log=lambda m: print(m, flush=True))
        if "skipped" not in result:
            print(f"PromptForge: demo workspace ready ({result['runs']} recorded runs)", flush=True)
    except Exception as exc:  # noqa: BLE001 - the app keeps serving; the banner shows the failure
        print(f"PromptForge: demo workspace could not be created: {exc}", file=sys.stderr, flush=True)

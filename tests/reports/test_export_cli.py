"""``launch.py export`` and ``launch.py verify-export`` on the export workspace."""

from __future__ import annotations

import json

import pytest

from reports.cli import parse_version, resolve_reviewers
from tests.reports.conftest import IN_PERIOD

pytestmark = pytest.mark.slow


@pytest.fixture
def cli(workspace, monkeypatch):
    """``cli(*args) -> exit code`` as the shell runs it, on the workspace's database."""
    import launch
    from config.settings import get_settings

    for name in ("PROMPTFORGE_EXPORT_HMAC_KEY", "PROMPTFORGE_AUDIT_HMAC_KEY", "PROMPTFORGE_CLI_ACCOUNT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROMPTFORGE_DATABASE_URL", workspace.settings.resolved_database_url)
    monkeypatch.setenv("PROMPTFORGE_DATA_DIR", str(workspace.settings.data_dir))
    get_settings.cache_clear()
    yield lambda *args: launch.main(list(args))
    get_settings.cache_clear()


def _period(workspace) -> list[str]:
    first, last = workspace.period
    return ["--from", first.isoformat(), "--to", last.isoformat()]


def test_export_then_verify_from_the_shell(cli, workspace, tmp_path, capsys, monkeypatch):
    out = tmp_path / "audit-2026"
    monkeypatch.setenv("PROMPTFORGE_EXPORT_HMAC_KEY", "k" * 32)
    assert cli("export", *_period(workspace), "--format", "csv", "--format", "jsonl", "--out", str(out)) == 0
    printed = capsys.readouterr()
    assert "runs.csv" in printed.out and f"{IN_PERIOD:>9}" in printed.out
    assert "signed (export_hmac_key)" in printed.out and "audit chain intact" in printed.out
    assert "(done)" in printed.err  # the progress line
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["generated_by"].startswith("os:")  # the command line acts as the OS user on SQLite

    assert cli("verify-export", str(out)) == 0
    assert "export intact: 18 files match the signed manifest" in capsys.readouterr().out
    (out / "label_moves.csv").write_text("label\nforged\n", encoding="utf-8")
    assert cli("verify-export", str(out)) == 1
    assert "changed: label_moves.csv" in capsys.readouterr().out


def test_scope_options_on_the_command_line(cli, workspace, tmp_path, capsys):
    out = tmp_path / "filtered"
    args = ["--prompt", "loan-summary", "--version", "loan-summary@v1", "--reviewer", "rita", "--format", "jsonl"]
    assert cli("export", *_period(workspace), *args, "--out", str(out), "--json") == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["scope"]["versions"] == ["loan-summary@v1"] and manifest["scope"]["reviewers"] == ["user:rita"]
    runs = [json.loads(line) for line in (out / "runs.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {(r["app_name"], r["app_version"]) for r in runs} == {("loan-summary", "v1")}
    assert len(runs) == 1  # the one v1 run rita annotated


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-03-05", "--to", "2026-03-01"], "ends (2026-03-01) before it starts"),
        (["--from", "2026-03-01", "--to", "2026-03-05", "--queue", "nope"], "No review queue named 'nope'"),
        (["--from", "2026-03-01", "--to", "2026-03-05", "--version", "loan-summary-2"], "is not SLUG@vN"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, tmp_path, capsys, args, message):
    assert cli("export", *args, "--format", "csv", "--out", str(tmp_path / "x")) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert not (tmp_path / "x").exists()


def test_a_folder_in_use_needs_force(cli, workspace, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.csv").write_text("x", encoding="utf-8")
    assert cli("export", *_period(workspace), "--format", "csv", "--out", str(out)) == 2
    assert "is not empty" in capsys.readouterr().err
    assert cli("verify-export", str(out)) == 2
    assert "holds no manifest.json" in capsys.readouterr().err


def test_parsing_helpers():
    assert parse_version("card-faq@v12") == ("card-faq", "v12")
    assert resolve_reviewers(["user:rita", "sso:rita", "user:bo"], ["rita", "user:bo", "ghost"]) == [
        "user:rita", "sso:rita", "user:bo", "ghost",
    ]


def test_an_export_from_the_shell_keeps_torch_out(workspace, tmp_path):
    """The shell's export checks text with spaCy and Presidio only: PyTorch, which they would
    import for nothing (400 MB), stays out of the process, and the export still works."""
    import subprocess
    import sys
    from pathlib import Path

    first, last = workspace.period
    code = (
        "import sys, launch; "
        f"rc = launch.main(['export', '--from', '{first}', '--to', '{last}', '--format', 'csv', '--format', 'pdf', "
        f"'--out', {str(tmp_path / 'out')!r}]); "
        "print('RESULT', rc, 'torch' in sys.modules)"
    )
    env = {
        **__import__("os").environ,
        "PROMPTFORGE_DATABASE_URL": workspace.settings.resolved_database_url,
        "PROMPTFORGE_DATA_DIR": str(workspace.settings.data_dir),
    }
    env.pop("PROMPTFORGE_CLI_ACCOUNT", None)
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert "RESULT 0 False" in done.stdout, done.stderr[-3000:]
    assert (tmp_path / "out" / "report.pdf").is_file() and (tmp_path / "out" / "runs.csv").is_file()

"""``python launch.py prompts ...`` and the caller's paths: output and exit codes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import launch
from config.settings import get_settings
from execution.cli_support import caller_path, set_caller_cwd
from prompts.label_moves import LabelMoves
from prompts.registry import PromptRegistry
from security.identity import Principal
from storage.audit import audit_log
from storage.trulens_store import open_store
from tests.prompts.test_yaml_sync import seed

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli(make_settings, monkeypatch, tmp_path, capsys):
    """``run(*args, cwd=None) -> (exit code, stdout, stderr)`` on a seeded temporary database."""
    settings = make_settings(database_url=f"sqlite:///{tmp_path / 'pf.db'}")
    monkeypatch.setenv("PROMPTFORGE_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("PROMPTFORGE_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    store = open_store(settings)
    seed(settings, store)

    def run(*args: str, cwd: Path | None = None) -> tuple[int, str, str]:
        code = launch.main(list(args), cwd=cwd)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    run.settings, run.store = settings, store
    yield run
    store.close()
    set_caller_cwd(None)
    get_settings.cache_clear()


def _registry(run) -> PromptRegistry:
    return PromptRegistry(run.store, Principal.local("os", "checker"), audit_log(run.settings), settings=run.settings)


def test_list_prints_slugs_versions_labels_and_descriptions(cli):
    code, out, _ = cli("prompts", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["slug", "versions", "labels", "description"]
    [row] = [line for line in lines if line.startswith("card-dispute")]
    assert row.split()[:2] == ["card-dispute", "3"]
    assert "production=v2, staging=v3, latest=v3" in row and row.endswith("Card disputes")
    assert "fragment:tone" not in out

    code, out, _ = cli("prompts", "list", "--fragments", "--json")
    assert code == 0
    assert json.loads(out) == [{"slug": "fragment:tone", "kind": "template", "versions": 2, "labels": {"latest": 2},
                                "description": "house tone", "tags": []}]
    code, out, _ = cli("prompts", "list", "--query", "cards chat", "--json")
    assert [p["slug"] for p in json.loads(out)] == ["support-chat"]
    assert cli("prompts", "list", "--query", "zebra")[1] == "no prompts match 'zebra'\n"


def test_show_prints_a_version_whole(cli):
    code, out, _ = cli("prompts", "show", "card-dispute@production")
    assert code == 0
    digest = _registry(cli).get("card-dispute", 2).digest
    assert out.splitlines()[0] == "card-dispute@v2  (production)  template"
    for expected in ("author       user:ann", "note         add the house tone", f"sha256       {digest}",
                     "fragments    fragment:tone -> v1", "  customer: short_text  who wrote", "  issue: long_text",
                     "defaults     provider=offline, temperature=0.2", "response     -",
                     'source:\n{% include "fragment:tone" %}\nReply to {{ customer }} about {{ issue }}.\n'):
        assert expected in out

    code, out, _ = cli("prompts", "show", "support-chat@v1", "--json")
    data = json.loads(out)
    assert code == 0 and data["kind"] == "chat" and data["labels"] == ["latest"]
    assert data["variables"] == [{"name": "question", "type": "untrusted"}]
    assert [m["role"] for m in data["spec"]["messages"]] == ["system", "user"]

    code, out, err = cli("prompts", "show", "card-dispute@v9")
    assert code == 2 and out == "" and err.startswith("error: Prompt 'card-dispute' has no version v9.")


def test_diff_is_word_level_part_by_part(cli):
    code, out, _ = cli("prompts", "diff", "card-dispute@v1", "card-dispute@staging")
    assert code == 0
    assert out.startswith("--- card-dispute@v1  sha256 ") and "\n+++ card-dispute@v3  sha256 " in out
    assert "@@ Template @@" in out and re.search(r"\{\+[^+]*politely[^+]*\+\}", out)
    assert "@@ Model defaults @@" in out and "@@ Fragments @@" in out and "@@ Variables @@" not in out
    code, out, _ = cli("prompts", "diff", "card-dispute@v2", "card-dispute@production")
    assert code == 0 and out.endswith("no differences\n")


def test_label_moves_other_labels_and_only_requests_production(cli):
    code, out, _ = cli("prompts", "label", "card-dispute", "v1", "staging")
    assert (code, out) == (0, "card-dispute: staging -> v1 (was v3)\n")
    registry = _registry(cli)
    assert registry.labels("card-dispute")["staging"] == 1

    code, out, err = cli("prompts", "label", "card-dispute", "3", "production")
    assert code == 2 and "Say why the label should move" in err

    code, out, _ = cli("prompts", "label", "card-dispute", "3", "production", "--reason", "better wording")
    assert code == 0 and "an approver (not you) must approve the request in the Prompt Studio" in out
    assert registry.labels("card-dispute")["production"] == 2  # not moved
    [request] = LabelMoves(registry, audit_log(cli.settings)).pending("card-dispute")
    assert (request.version, request.label, request.reason) == (3, "production", "better wording")
    assert request.id[:12] in out

    code, _, err = cli("prompts", "label", "card-dispute", "2", "latest")
    assert code == 2 and "'latest' moves by itself" in err


def test_lint_prints_one_line_per_finding_and_exits_1_on_errors(cli, tmp_path):
    code, out, _ = cli("prompts", "lint", "card-dispute@v1", "--no-pii")
    assert code == 0 and "card-dispute@v1: 0 errors" in out
    assert "skipped PF004: no PII scrubber was given" in out

    spec = tmp_path / "spec.yaml"
    spec.write_text("template: |\n  Hi {{ name }},\n  about {{ typo }}\nvariables:\n  - {name: name}\n")
    code, out, _ = cli("prompts", "lint", "--file", "spec.yaml", "--no-pii", cwd=tmp_path)
    assert code == 1
    [line] = [line for line in out.splitlines() if line.startswith("PF001")]
    assert line.startswith("PF001 error template:2 The template reads variable 'typo' on line 2")
    assert line.endswith("(Declare it under variables (with its type), or fix the name in the template.)")
    assert "spec.yaml: 1 error" in out

    code, out, _ = cli("prompts", "lint", "--file", str(spec), "--no-pii", "--json")
    report = json.loads(out)
    assert code == 1 and report["ok"] is False and report["findings"][0]["rule"] == "PF001"

    (tmp_path / "broken.j2").write_text("Hi {{ name }\n")
    code, out, _ = cli("prompts", "lint", "--file", "broken.j2", "--no-pii", cwd=tmp_path)
    assert code == 1 and out.startswith("PF000 error template Syntax error in the template on line 1")

    code, _, err = cli("prompts", "lint", "--file", "absent.j2", "--no-pii", cwd=tmp_path)
    assert code == 2 and f"{tmp_path / 'absent.j2'} does not exist" in err


@pytest.mark.slow
def test_lint_runs_the_pii_rule_with_the_real_scrubber(cli, tmp_path):
    (tmp_path / "pii.j2").write_text("Write to Maria Gonzalez at maria.gonzalez@example.com about {{ issue }}.\n")
    code, out, _ = cli("prompts", "lint", "--file", "pii.j2", cwd=tmp_path)
    assert code == 1
    assert any(line.startswith("PF004 error template:1 ") for line in out.splitlines())
    assert "Maria" not in out and "example.com" not in out  # findings name entity types, never values


def test_pull_and_push_use_the_callers_folder(cli, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    code, out, _ = cli("prompts", "pull", "--all", "--out", "exported", cwd=work)
    assert code == 0
    assert "wrote exported/card-dispute.yaml (card-dispute, 3 versions)" in out
    assert sorted(p.name for p in (work / "exported").iterdir()) == [
        "card-dispute.yaml", "fragment-tone.yaml", "support-chat.yaml"
    ]
    code, out, _ = cli("prompts", "pull", "fragment:tone", "--out", "exported", cwd=work)
    assert code == 0 and "unchanged exported/fragment-tone.yaml" in out

    code, out, err = cli("prompts", "push", "exported", "--dry-run", cwd=work)
    assert code == 0 and err == ""
    assert "exported/card-dispute.yaml (card-dispute): up to date (3 versions)" in out
    assert out.endswith("3 files: 0 to change; dry run: nothing written\n")

    path = work / "exported" / "card-dispute.yaml"
    data = yaml.safe_load(path.read_text())
    data["labels"]["production"] = 3
    data["labels"]["staging"] = 1
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    code, out, _ = cli("prompts", "push", "exported/card-dispute.yaml", cwd=work)
    assert code == 0
    assert "  move staging to v1 (was v3)" in out
    assert "  REFUSED production -> v3: production is v2 in the database" in out
    assert _registry(cli).labels("card-dispute")["production"] == 2

    (work / "bad.yaml").write_text("schema: 7\nslug: bad\n")
    code, out, err = cli("prompts", "push", "bad.yaml", cwd=work)
    assert code == 2 and err.startswith("error: bad.yaml: Unknown prompt file schema 7.")
    assert "1 with errors" in out

    code, _, err = cli("prompts", "pull", cwd=work)
    assert code == 2 and "Name the prompts to pull, or pass --all" in err


def test_every_path_argument_is_resolved_against_the_callers_folder(tmp_path, monkeypatch):
    (tmp_path / "rows.csv").write_text("a\n1\n")
    monkeypatch.chdir(ROOT)  # where launch.py runs
    set_caller_cwd(tmp_path)
    try:
        parse = launch._parser().parse_args
        assert parse(["run", "--template-file", "t.j2"]).template_file == tmp_path / "t.j2"
        assert parse(["batch", "--template-file", "t.j2", "--dataset", "d/rows.csv"]).dataset == tmp_path / "d/rows.csv"
        assert parse(["check", "in.jsonl"]).file == tmp_path / "in.jsonl"
        assert parse(["check"]).file is None  # stdin
        args = parse(["verify-audit", "--export-head", "head.json", "--check-head", "/abs/head.json"])
        assert (args.export_head, args.check_head) == (tmp_path / "head.json", Path("/abs/head.json"))
        assert parse(["eval", "--dataset", "rows.csv"]).dataset == str(tmp_path / "rows.csv")  # an existing file
        assert parse(["eval", "--dataset", "faq-set"]).dataset == "faq-set"  # a stored dataset's name
        assert parse(["prompts", "lint", "--file", "p.yaml"]).file == tmp_path / "p.yaml"
        assert parse(["prompts", "pull", "--all"]).out == tmp_path  # default: the caller's folder
        assert parse(["prompts", "push", "a.yaml", "dir"]).paths == [tmp_path / "a.yaml", tmp_path / "dir"]
        assert caller_path("~/x") == Path.home() / "x"
    finally:
        set_caller_cwd(None)
    assert caller_path("x") == ROOT / "x"  # no caller recorded: the current folder


@pytest.mark.slow
def test_launch_py_run_from_another_folder_reads_the_callers_template(tmp_path):
    """``cd somewhere && python /path/to/launch.py run --template-file t.j2`` (launch.py changes
    into its own folder before running)."""
    (tmp_path / "t.j2").write_text("Hello {{ name }}, summarise {{ doc }}.\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMPTFORGE_")}
    env.update({
        "PROMPTFORGE_DATABASE_URL": f"sqlite:///{tmp_path / 'pf.db'}",
        "PROMPTFORGE_DATA_DIR": str(tmp_path),
        "PROMPTFORGE_SECRETS_FILE": str(tmp_path / "absent-secrets.toml"),
        "PROMPTFORGE_CONFIG_FILE": str(tmp_path / "absent-config.toml"),
        "PROMPTFORGE_PII_WORKERS": "0",
    })
    proc = subprocess.run(
        [sys.executable, str(ROOT / "launch.py"), "run", "--template-file", "t.j2", "--var", "name=Bob",
         "--var", "doc=the report"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    assert result["status"] == "ok" and result["prompt"].startswith("adhoc@")
    assert "summarise the report." in result["scrubbed_input"]

"""The execution API: run a registered prompt, scrub and screen text, start and follow evaluation
runs and comparisons, list prompts and their versions, read a run's trace. Each route acts as the request's
token (``api.auth.caller``) through the same services, permission checks and pipeline as the app."""

from __future__ import annotations

import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from api.auth import caller
from config.errors import InputError, PromptForgeError
from security.identity import Permission
from security.identity.principal import Principal

router = APIRouter(prefix="/v1")
Caller = Annotated[Principal, Depends(caller)]


def _pipeline(request: Request, who: Principal):
    return request.app.state.pipeline.acting_as(who)


def registry_for(request: Request, who: Principal):
    """The prompt registry as ``who`` sees it, on the API's store."""
    from prompts.registry import PromptRegistry

    pipeline = request.app.state.pipeline
    return PromptRegistry(pipeline.store, who, limits=pipeline.limits)


class RunRequest(BaseModel):
    prompt: str = Field(description="SLUG, SLUG@LABEL or SLUG@vN of a registered prompt", examples=["complaint-reply@production"])
    variables: dict[str, str] = Field(default_factory=dict, description="the template's variables")
    provider: str | None = Field(None, description="offline | openai:MODEL | anthropic:MODEL | compat:MODEL@BASE_URL")


@router.post("/runs", tags=["runs"], summary="One governed run of a registered prompt")
def post_run(body: RunRequest, request: Request, who: Caller) -> dict[str, Any]:
    """Renders the version with the variables, scrubs, screens, calls the model, scrubs the answer,
    evaluates and records it. A blocked or failed run is recorded too: ``status`` says which."""
    from execution.cli_support import load_template

    pipeline = _pipeline(request, who)
    template, ref = load_template(pipeline.settings, pipeline, body.prompt, None)
    return pipeline.run(template, body.variables, prompt=ref, provider=body.provider).to_dict()


@router.get("/runs/{record_id}", tags=["runs"], summary="A recorded run with its trace, metrics and annotations")
def get_run(record_id: str, request: Request, who: Caller) -> dict[str, Any]:
    who.require(Permission.READ_RUNS, "read runs")
    detail = request.app.state.pipeline.store.run_detail(record_id, audit=False)
    return {
        "run": detail.run, "annotations": detail.annotations, "evaluation": detail.evaluation,
        "comparisons": detail.comparisons,
    }


class CheckRequest(BaseModel):
    texts: list[str] = Field(description="texts to scrub and screen (nothing is stored)", max_length=256)


@router.post("/check", tags=["check"], summary="Scrub PII and screen for injection; stores nothing")
def post_check(body: CheckRequest, request: Request, who: Caller) -> dict[str, Any]:
    from execution.check import checked
    from execution.templates import check_text

    who.require(Permission.READ_RUNS, "check text")
    pipeline = request.app.state.pipeline
    for i, text in enumerate(body.texts):
        check_text(text, f"texts[{i}]", pipeline.settings.max_rendered_chars)
    results = pipeline.scrubber.scrub_many(body.texts)
    return {"results": [checked(scrub, pipeline.screener) for scrub in results]}


@router.get("/prompts", tags=["prompts"], summary="Registered prompts: versions, labels, description")
def list_prompts(request: Request, who: Caller, query: str = "") -> dict[str, Any]:
    return {"prompts": [
        {"slug": p.slug, "description": p.description, "versions": p.versions, "latest": p.latest,
         "labels": p.labels, "tags": list(p.tags), "kind": p.kind, "updated_at": p.updated_at}
        for p in registry_for(request, who).list_prompts(query)
    ]}


@router.get("/prompts/{slug}/versions", tags=["prompts"], summary="Every version of a prompt")
def list_versions(slug: str, request: Request, who: Caller) -> dict[str, Any]:
    registry = registry_for(request, who)
    versions = registry.versions(slug)
    summary = next((p for p in registry.list_prompts(slug) if p.slug == slug), None)
    labels = summary.labels if summary else {}
    return {"slug": slug, "versions": [
        {"version": v.version, "kind": v.kind, "digest": v.digest, "variables": v.variables,
         "labels": sorted(label for label, at in labels.items() if at == v.version),
         "change_note": v.change_note, "created_by": v.created_by, "created_at": v.created_at, "text": v.text}
        for v in versions
    ]}


class EvaluationRequest(BaseModel):
    prompt: str = Field(description="SLUG, SLUG@LABEL or SLUG@vN")
    dataset: str = Field(description="a stored dataset's name")
    metrics: list[str] | None = Field(None, description="only these metrics (default: the prompt's metric set)")
    provider: str | None = None
    judge: str | None = None


@router.post("/evaluations", tags=["evaluations"], status_code=202, summary="Start an evaluation run")
def start_evaluation(body: EvaluationRequest, request: Request, who: Caller) -> dict[str, Any]:
    """Creates the run and starts it in the background; follow it with ``GET /v1/evaluations/{id}``."""
    from execution.evaluate import Evaluator

    evaluator = Evaluator(_pipeline(request, who))
    run = evaluator.create(body.prompt, body.dataset, provider=body.provider, judge=body.judge, metrics=body.metrics)
    _in_background(request, evaluator, run.id)
    return {"id": run.id, "status": run.display_status, "rows": run.total_rows}


@router.post("/evaluations/{run_id}/resume", tags=["evaluations"], status_code=202, summary="Resume an interrupted run")
def resume_evaluation(run_id: str, request: Request, who: Caller) -> dict[str, Any]:
    from execution.evaluate import Evaluator

    evaluator = Evaluator(_pipeline(request, who))
    run = evaluator.find(run_id)
    if run.status == "done":
        raise InputError(f"Evaluation {run.id[:8]} is done already.", "Read it with GET /v1/evaluations/{id}.")
    _in_background(request, evaluator, run.id)
    return {"id": run.id, "status": "running"}


@router.get("/evaluations/{run_id}", tags=["evaluations"], summary="An evaluation run: progress, metrics, gates")
def get_evaluation(run_id: str, request: Request, who: Caller) -> dict[str, Any]:
    from execution.evaluate import Evaluator

    evaluator = Evaluator(_pipeline(request, who))
    run = evaluator.find(run_id)
    report = evaluator.report(run.id).to_dict()
    failure = request.app.state.background_errors.get(run.id)
    return {**report, "done_rows": run.done_rows, **({"background_error": failure} if failure else {})}


@router.get("/evaluations/{run_id}/results", tags=["evaluations"], summary="A page of an evaluation run's rows")
def get_evaluation_results(run_id: str, request: Request, who: Caller, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    from execution.evaluate import Evaluator

    evaluator = Evaluator(_pipeline(request, who))
    run = evaluator.find(run_id)
    rows, total = evaluator.results(run.id, limit=min(max(limit, 1), 500), offset=max(offset, 0))
    return {"id": run.id, "total": total, "rows": rows}


class ComparisonRequest(BaseModel):
    a: str = Field(description="side A: SLUG@vN or SLUG@LABEL (the baseline)")
    b: str | None = Field(None, description="side B (default: A's version, with b_provider: a model migration)")
    dataset: str = Field(description="a stored dataset's name")
    a_provider: str | None = None
    b_provider: str | None = None
    metrics: list[str] | None = None
    guards: list[str] = Field(default_factory=list, description="metrics B must not be worse on")
    repeats: int = Field(1, ge=1)


@router.post("/comparisons", tags=["comparisons"], status_code=202, summary="Start an A/B comparison")
def start_comparison(body: ComparisonRequest, request: Request, who: Caller) -> dict[str, Any]:
    """Runs both sides over the dataset (finished runs are reused) in the background; follow it with
    ``GET /v1/comparisons/{id}``."""
    from execution.compare import Comparisons

    comparisons = Comparisons(_pipeline(request, who))
    row = comparisons.create(
        body.a, body.dataset, prompt_b=body.b, provider_a=body.a_provider, provider_b=body.b_provider,
        metrics=body.metrics, guards=body.guards, repeats=body.repeats,
    )
    _in_background(request, comparisons, row.id)
    return {"id": row.id, "title": row.title, "status": row.status, "rows": row.total_rows, "reused": row.reused}


@router.get("/comparisons/{comparison_id}", tags=["comparisons"], summary="A comparison: progress, statistics, verdict")
def get_comparison(comparison_id: str, request: Request, who: Caller) -> dict[str, Any]:
    from execution.compare import Comparisons

    comparisons = Comparisons(_pipeline(request, who))
    row = comparisons.find(comparison_id)
    done, total = comparisons.progress(row.id)
    out: dict[str, Any] = {"id": row.id, "title": row.title, "status": row.status, "error": row.error,
                           "done_rows": done, "total_rows": total, "runs": row.run_ids, "decision": row.decision}
    if row.status == "done":
        stats = comparisons.statistics(row.id)
        out |= {**stats.to_dict(), "verdict": stats.verdict(), "metric_errors": [
            {"side": where, "metric": m.name, "errors": m.errors, "first_error": m.first_error}
            for where, m in comparisons.metric_errors(row)
        ]}
    failure = request.app.state.background_errors.get(row.id)
    return out | ({"background_error": failure} if failure else {})


def _in_background(request: Request, runner, run_id: str) -> None:
    """``runner.execute(run_id)`` (an evaluation or a comparison) on a thread of its own; a failure
    the user can act on is kept for the next read."""
    errors = request.app.state.background_errors

    def work() -> None:
        try:
            runner.execute(run_id)
        except PromptForgeError as exc:
            errors[run_id] = str(exc)

    threading.Thread(target=work, name=f"background-{run_id[:8]}", daemon=True).start()

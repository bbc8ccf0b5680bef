"""Benchmarks: printed figures, run on demand (``python launch.py bench NAME``), never pass/fail tests."""

from __future__ import annotations

from config.settings import Settings


def run_benchmark(name: str, settings: Settings, **options) -> int:
    if name == "pipeline":
        from bench.pipeline import main

        return main(settings, **options)
    if name == "audit":
        from bench.audit import main as audit_main

        return audit_main(settings)
    if name == "security":
        from bench.security import main as security_main

        return security_main(settings, n=options.get("n", 300))
    if name == "eval":
        from bench.eval import main as eval_main

        return eval_main(settings, n=options.get("n", 1000))
    if name == "authoring":
        from bench.authoring import main as authoring_main

        return authoring_main(settings, n=options.get("n", 1000))
    if name == "compare":
        from bench.compare import main as compare_main

        return compare_main(settings, n=options.get("n", 10_000))
    if name == "annotation":
        from bench.annotation import main as annotation_main

        return annotation_main(settings, **options)
    if name == "scale":
        from bench.scale import main as scale_main

        return scale_main(settings, **options)
    if name == "api":
        from bench.api import main as api_main

        return api_main(settings, **options)
    raise ValueError(f"unknown benchmark {name}")

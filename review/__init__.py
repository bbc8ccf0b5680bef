"""Annotation by compliance reviewers: rubrics, queues, claims, annotations, agreement, adjudication."""

"""Authoring: the prompt registry service, versions, labels and four-eyes approvals, lint,
fragments, diffs and YAML sync. Services here check permissions themselves and hold no UI
code (pages call them)."""

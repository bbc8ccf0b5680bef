"""Words prompts are made of that spaCy's small model sometimes labels as a name or place
("Summarise this…" → PERSON). A detection whose whole text is one of these is not scrubbed.

Only instruction verbs, salutations and the names of output formats ("Answer as JSON"), none
of them also a common given name; the
configurable ``pii.allow_list`` adds domain terms, and ``pii.builtin_allow_list = false``
turns this list off.
"""

from __future__ import annotations

INSTRUCTION_VERBS = frozenset(
    """
    analyse analyze answer assess calculate categorise categorize check classify compare compose
    convert create describe draft edit estimate evaluate explain extract format generate identify
    list outline paraphrase predict proofread rank recommend reply respond review rewrite suggest
    summarise summarize tabulate translate verify write
    """.split()
)

SALUTATIONS = frozenset("dear hello hi please regards thanks greetings".split())

FORMAT_NAMES = frozenset("csv html json jsonl markdown pdf sql xml yaml".split())

PROMPT_VOCABULARY = INSTRUCTION_VERBS | SALUTATIONS | FORMAT_NAMES

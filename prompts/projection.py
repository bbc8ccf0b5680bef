"""What TruLens's registry holds of a version: its source, in the ``{{ variable }}`` dialect.

TruLens accepts bare ``{{ name }}`` placeholders only. A PromptForge source may use
the sandbox's full Jinja2 (conditions, loops, filters, fragment includes), so TruLens
gets a projection: ``{{ name }}`` of a declared variable is kept as is, and every other
construct keeps its text with its outer braces turned into brackets (``{% if x %}`` →
``[% if x %]``, ``{{ x | upper }}`` → ``[{ x | upper }]``). The projection is for
reading in TruLens's tools; PromptForge renders from the full spec in
``pf_prompt_specs`` (see ``storage.prompts``).
"""

from __future__ import annotations

import re

_CONSTRUCT = re.compile(r"\{([{%#])(.*?)([}%#])\}", re.DOTALL)
_BARE = re.compile(r"^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")


def project(source: str, variables: set[str] | list[str]) -> str:
    """``source`` in TruLens's dialect (see the module docstring)."""
    names = set(variables)
    out: list[str] = []
    position = 0
    for match in _CONSTRUCT.finditer(source):
        out.append(_plain(source[position : match.start()]))
        whole = match.group(0)
        bare = _BARE.match(whole)
        out.append(whole if bare and bare.group(1) in names else "[" + _plain(whole[1:-1]) + "]")
        position = match.end()
    out.append(_plain(source[position:]))
    return "".join(out)


def _plain(text: str) -> str:
    """Text that must not read as a placeholder: a brace before ``{`` or ``%`` gets a space."""
    return re.sub(r"\{(?=[{%])", "{ ", text)

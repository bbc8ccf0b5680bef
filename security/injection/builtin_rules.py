"""The built-in injection rules, registered like any plugin rule.

Patterns describe techniques in general terms (verbs, objects, markers); they are not
fitted to any evaluation set.
"""

from __future__ import annotations

from security.injection.rules import RegexRule, register_rule

_EARLIER = r"(?:previous|prior|preceding|above|earlier|former|original|initial|old|system|developer)"
_ORDERS = (
    r"(?:instructions?|prompts?|directions?|directives?|rules|guidelines|guidance|commands?|context|"
    r"messages?|orders)"
)
_RESTRICTIONS = (
    r"(?:restrictions?|rules|limits|limitations|filters?|guidelines|guardrails|censorship|ethics|morals|"
    r"boundaries|policies)"
)
_REVEAL = (
    r"(?:repeat|print|reveal|show|display|output|dump|leak|share|recite|disclose|expose|see|read|view|"
    r"tell\s+me|give\s+me|write\s+(?:out|down)|spell\s+out|copy|echo|paste|return)"
)
_HIDDEN = r"(?:system|developer|hidden|secret|initial|original|internal|starting|first|pre-?prompt)"
_SETUP = r"(?:prompt|instructions?|message|rules|guidelines|configuration)"

BUILTIN_RULES = [
    RegexRule(
        "ignore_previous_instructions",
        "instruction_override",
        "Tells the model to ignore, forget or override the instructions it was given.",
        0.9,
        [
            (
                r"\b(?:ignore|disregard|forget|skip|override|bypass|abandon|discard|drop|neglect)\s+"
                r"(?:all\s+|any\s+|every\s+|each\s+)?(?:of\s+)?(?:the\s+|your\s+|my\s+|these\s+|those\s+|our\s+)?"
                r"(?:\w+\s+){0,2}?" + _EARLIER + r"\s+" + _ORDERS + r"\b"
            ),
            (
                r"\b(?:ignore|disregard|forget)\s+(?:everything|anything|all|whatever)\s+"
                r"(?:(?:you\s+(?:were|have\s+been)\s+(?:told|given|instructed)|(?:that\s+)?(?:was\s+)?"
                r"(?:said|written|stated))\s+)?(?:above|before|so\s+far|previously|earlier|until\s+now)\b"
            ),
            r"\bdo\s+not\s+(?:follow|obey|apply)\s+(?:the\s+|your\s+|any\s+)?"
            + _EARLIER
            + r"\s+"
            + _ORDERS
            + r"\b",
        ],
    ),
    RegexRule(
        "new_instructions",
        "instruction_override",
        "Announces replacement instructions for the model.",
        0.55,
        [
            r"\b(?:new|updated|real|actual|revised)\s+(?:system\s+)?(?:instructions?|directives?|task|orders)\s*:",
            r"\byour\s+(?:new|real|actual|true)\s+(?:instructions?|task|purpose|goal|role)\s+(?:is|are)\b",
        ],
    ),
    RegexRule(
        "from_now_on",
        "instruction_override",
        "Redefines the model's behaviour for the rest of the conversation.",
        0.45,
        [
            (
                r"\bfrom\s+(?:now\s+on|this\s+(?:moment|point)\s+(?:on|onwards?|forward)),?\s+"
                r"(?:you|your|act|behave|respond|answer|only|always|never)\b"
            )
        ],
    ),
    RegexRule(
        "reveal_system_prompt",
        "system_prompt_extraction",
        "Asks for the system prompt or the model's hidden instructions.",
        0.85,
        [
            (
                r"\b" + _REVEAL + r"\s+(?:me\s+)?(?:all\s+(?:of\s+)?|everything\s+in\s+)?(?:the\s+|your\s+)?"
                r"(?:full\s+|entire\s+|complete\s+|exact\s+|verbatim\s+)?" + _HIDDEN + r"\s+" + _SETUP + r"\b"
            ),
            (
                r"\b"
                + _REVEAL
                + r"\s+(?:me\s+)?(?:all\s+(?:of\s+)?)?your\s+(?:full\s+|entire\s+|complete\s+|exact\s+)?"
                r"(?:prompt|instructions|rules|guidelines|directives|programming)\b"
            ),
            r"\bwhat\s+(?:is|was|are|were)\s+your\s+(?:system\s+prompt|" + _HIDDEN + r"\s+instructions)\b",
        ],
    ),
    RegexRule(
        "mentions_system_prompt",
        "system_prompt_extraction",
        "Refers to the model's own system prompt or initial instructions.",
        0.5,
        [
            r"\byour\s+(?:\w+\s+)?(?:system\s+(?:prompt|message|instructions)|"
            + _HIDDEN
            + r"\s+(?:prompt|instructions))\b",
            r"\b(?:instructions|prompt|text|rules)\s+(?:that\s+)?you\s+(?:were|have\s+been)\s+(?:given|told|provided)\b",
            r"\bsystem_?prompt\b(?=\s*[)\].;}])",
        ],
        topic=True,
    ),
    RegexRule(
        "repeat_text_above",
        "system_prompt_extraction",
        "Asks the model to reproduce the text or conversation that precedes the user's message.",
        0.7,
        [
            (
                r"\b(?:repeat|print|output|copy|reproduce|echo|recite|return|reveal|show|display)\s+"
                r"(?:back\s+)?(?:all\s+(?:of\s+)?|everything\s+in\s+)?(?:the\s+)?"
                r"(?:(?:text|words|content|lines?|messages?|everything|sentences?)\s+"
                r"(?:above|before\s+this|preceding|prior\s+to\s+this)|above\s+(?:text|words|content|messages?))\b"
            ),
            (
                r"\b(?:repeat|print|output|copy|reproduce|echo|recite)\s+(?:back\s+)?(?:this|the|our)\s+"
                r"(?:entire\s+|whole\s+|full\s+)?conversation\b"
            ),
            (
                r"\b(?:words|text|everything)\s+(?:at|from)\s+the\s+(?:very\s+)?(?:beginning|start|top)\s+of\s+"
                r"(?:the|this|your)\s+(?:conversation|prompt|chat|context|document)\b"
            ),
        ],
    ),
    RegexRule(
        "what_were_you_told",
        "system_prompt_extraction",
        "Asks what the model was told, or primes it to complete a sentence that discloses it.",
        0.6,
        [
            r"\bwhat\s+(?:were|are|have)\s+you\s+(?:been\s+)?(?:told|instructed|programmed|configured)\b",
            r"[\"'](?:my\s+instructions\s+(?:are|were)|i\s+was\s+(?:instructed|told)\s+to|the\s+system\s+prompt\s+is)\b",
        ],
    ),
    RegexRule(
        "do_anything_now",
        "roleplay_jailbreak",
        "The 'DAN' (do anything now) family of jailbreak personas.",
        0.9,
        [r"\bdo\s+anything\s+now\b"],
    ),
    RegexRule(
        "dan_persona",
        "roleplay_jailbreak",
        "The persona name DAN, in capitals.",
        0.6,
        [r"\bDAN\b"],
        flags=0,
    ),
    RegexRule(
        "unrestricted_mode",
        "roleplay_jailbreak",
        "Asks for a 'developer' or similar mode, or an AI without safeguards.",
        0.75,
        [
            r"\b(?:developer|god|jailbreak|unrestricted|unfiltered|uncensored|evil|chaos)\s+mode\b",
            r"\b(?:unrestricted|unfiltered|uncensored|amoral|unethical)\s+(?:ai|assistant|model|chatbot|bot|llm)\b",
        ],
        topic=True,
    ),
    RegexRule(
        "roleplay_without_restrictions",
        "roleplay_jailbreak",
        "Asks the model to pretend or act as something that has no rules.",
        0.85,
        [
            (
                r"\b(?:pretend|act|behave|roleplay|role-play|imagine|respond)\b[^.!?\n]{0,80}?"
                r"\b(?:without|with\s+no|free\s+(?:of|from)|no\s+longer\s+bound\s+by|not\s+bound\s+by|ignoring)\s+"
                r"(?:any\s+|all\s+|the\s+|your\s+)?(?:\w+\s+)?" + _RESTRICTIONS + r"\b"
            ),
            (
                r"\b(?:is|are|be|being)\s+(?:an?\s+\w+\s+)?(?:completely\s+|totally\s+|now\s+)?"
                r"(?:free\s+(?:of|from)|without|not\s+bound\s+by|unbound\s+by)\s+(?:any\s+|all\s+)?(?:\w+\s+)?"
                + _RESTRICTIONS
                + r"\b"
            ),
            r"\bbr(?:eak|eaks|oke|oken)\s+free\s+(?:of|from)\s+(?:\w+\s+){0,6}?" + _RESTRICTIONS + r"\b",
            r"\byou\s+(?:have|has|now\s+have)\s+no\s+(?:\w+\s+)?" + _RESTRICTIONS + r"\b",
            r"\byou\s+are\s+(?:no\s+longer|not)\s+(?:bound|restricted|limited)\s+by\b",
        ],
    ),
    RegexRule(
        "jailbroken",
        "roleplay_jailbreak",
        "Mentions jailbreaking the model.",
        0.7,
        [r"\bjail\s?br(?:eak|oken|eaking|oke)\w*\b"],
        topic=True,
    ),
    RegexRule(
        "chat_template_tokens",
        "delimiter_injection",
        "Special tokens of chat templates, used to forge a system or assistant turn.",
        0.9,
        [
            r"<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id)\|>",
            r"\[/?INST\]",
            r"<<\s*/?\s*SYS\s*>>",
            r"<s>[^<>\n]{0,200}</s>|(?P<hit></s>)",  # an end-of-sequence token, not HTML <s>..</s>
        ],
    ),
    RegexRule(
        "fake_role_header",
        "delimiter_injection",
        "A markdown or tag header that pretends to start a system or assistant message.",
        0.7,
        [
            r"^\s*#{2,}\s*(?:system|assistant|developer|instructions?)\b\s*:?",
            r"</?\s*(?:system|system_prompt|developer|instructions?)\s*>",
            r"^\s*\[\s*(?:system|developer)\s*(?:message)?\s*\]",
        ],
    ),
    RegexRule(
        "steers_the_answer",
        "instruction_override",
        "In an untrusted value: tells the assistant what to put in its answer, or addresses the AI "
        "reading the document.",
        0.7,
        [
            (
                r"\b(?:includ|inclusion|add|insert|embed|append|mention|incorporat|integrat|featur|put|weav|woven|"
                r"merg|assimilat|introduc|promot|advertis|recommend|suggest|say|state|tell)\w*\b(?:[^.!?\n]|\.(?=\S)){0,80}?"
                r"\b(?:in|into|to|within|throughout)\s+(?:your|the)\s+(?:(?:final|next|own)\s+)?(?:response|answer|"
                r"output|summary|code(?:base)?|implementation|solution|program|algorithm|completion|elucidation|"
                r"explanation)s?\b"
            ),
            (
                r"\b(?:add|append|insert|embed|advertise|promote)\w*\b(?:[^.!?\n]|\.(?=\S)){0,80}?\b(?:to|into|in)\s+your\s+"
                r"(?:(?:final|next)\s+)?repl(?:y|ies)\b"
            ),
            (
                r"\b(?:in|within|throughout|at\s+the\s+(?:end|start|beginning)\s+of)\s+your\s+(?:(?:final|next)\s+)?"
                r"(?:response|answer|output|summary|completion)s?\s*,"
            ),
            (
                r"\b(?:augment|modify|update|upgrade|end|begin|start|conclude|rewrite)\s+your\s+(?:response|answer|"
                r"reply|output|summary|code|elucidation|explanation)\b"
            ),
            (  # a transformed answer: reversed, encoded, in emoji (hides what the answer says)
                r"\b(?:revers|invert|encod|encrypt|scrambl|mirror|flip|base\s?\d{2}\b|hex(?:adecimal)?\b|binary\b|"
                r"morse\b|emojis?\b|rot-?13\b|cipher|leetspeak\b|pig\s+latin\b)\w*(?:[^.!?\n]){0,40}?\byour\s+"
                r"(?:\w+\s+)?(?:answer|response|reply|output|message)s?\b"
                r"|\byour\s+(?:\w+\s+)?(?:answer|response|reply|output|message)s?\b(?:[^.!?\n]){0,40}?"
                r"\b(?:in\s+revers\w*|backwards?|base\s?\d{2}|hex(?:adecimal)?|binary|morse|emojis?|rot-?13|"
                r"leetspeak|pig\s+latin|upside[\s-]down)\b"
                r"|\b(?:reply|respond|answer|write)\s+(?:only\s+)?(?:in|using|with)\s+(?:reverse|backwards?|"
                r"base\s?\d{2}|hex\w*|binary|morse|emojis?|rot-?13|leetspeak|pig\s+latin)\b"
            ),
            (  # a code snippet to be carried into the assistant's own work
                r"\b(?:code|snippet)\b(?:[^.!?\n]){0,60}?\byour\s+(?:\w+\s+)?(?:code(?:base)?|implementation|"
                r"solution|program|algorithm|response|answer|elucidation|logic)\b|\byour\s+(?:code(?:base)?|"
                r"implementation|solution|program|algorithm|response|answer)\b(?:[^.!?\n]){0,60}?\b(?:code\s+)?"
                r"(?:snippet|code\s+(?:block|section|excerpt))\b"
            ),
            (
                r"\b(?:note|message|instructions?|attention|reminder)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+)?"
                r"(?:ai|assistant|language\s+model|llm|chatbot|model)s?\b"
            ),
            r"\b(?:ai|assistant|language\s+model|llm|chatbot)s?\s+(?:reading|processing|summari[sz]ing)\s+this\b",
            (
                r"\bwhen\s+(?:you\s+)?(?:summari[sz]|answer|respond|repl|process|read)\w*\s+(?:to\s+)?"
                r"(?:this|the)\s+(?:e-?mail|message|document|page|text)\b"
            ),
        ],
        untrusted_only=True,
    ),
]

for _rule in BUILTIN_RULES:
    register_rule(_rule)

"""Cues of an attack that do not depend on its exact wording, in the languages a European
bank's customers write (English, Spanish, French, German, Italian, Portuguese, Dutch, Polish,
Swedish, Danish, Norwegian, Finnish, Czech, Romanian, Turkish).

Each cue is a family of words or phrases standing for one move an attacker makes: setting
the model's rules aside, naming those rules, asking for the hidden instructions, claiming an
authority or a special mode, making a change last, addressing the AI inside a document,
asking for secrecy, sending data out, driving a tool. Alone a cue proves nothing ("rules" is
an ordinary word); the semantic screen takes the cues of a piece of text as features beside
its embedding and learns, from attacks and from benign look-alikes, which combinations
matter. A further cue family marks talk *about* attacks (explaining, defending, training),
so the classifier can learn that topic is not intent.

Matching is on a folded form of the text: lower case, accents removed (so "règles",
"regles" and "REGLES" are one word) and look-alike letters already undone by
``normalize.normalise``.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np


def fold(text: str) -> str:
    """Lower case without accents ("Übergehe" -> "ubergehe"); ł, ø, æ, ß spelled out."""
    text = text.lower().translate(str.maketrans({"ł": "l", "ø": "o", "æ": "ae", "ß": "ss", "ı": "i"}))
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


def _family(*alternatives: str) -> re.Pattern[str]:
    # whole words: no letter may touch the match unless the match itself ends (or starts) with a non-letter
    return re.compile(r"(?:(?<![a-z])|(?=[^a-z]))(?:" + "|".join(alternatives) + r")(?:(?<=[^a-z])|(?![a-z]))")


# the model's own rules, as an attacker names them
RULES = _family(
    r"(?:system|hidden|initial|original|internal|secret|developer|pre)[ -]?(?:prompt|message|instructions?)",
    r"instructions?", r"guidelines?", r"guardrails?", r"safeguards?", r"restrictions?", r"rules", r"polic(?:y|ies)",
    r"filters?", r"constraints?", r"directives?", r"programming", r"configuration", r"content polic\w*",
    r"limitations?", r"ethics", r"moral\w*",
    # es / pt / it / fr / ro
    r"instrucc?(?:iones|oes)", r"reglas", r"normas", r"directrices", r"restricciones", r"politicas", r"filtros",
    r"instrucoes", r"regras", r"diretrizes", r"restricoes", r"istruzioni", r"regole", r"linee guida", r"restrizioni",
    r"politiche", r"filtri", r"consignes", r"regles", r"restrictions", r"politiques", r"filtres", r"instructiunile",
    r"instructiuni", r"regulile", r"restrictiile",
    # de / nl / pl / cs / sv / da / no / fi / tr
    r"anweisungen", r"regeln", r"richtlinien", r"vorgaben", r"einschrankungen", r"sicherheitsregeln", r"systemprompt",
    r"instructies", r"regels", r"richtlijnen", r"beperkingen", r"instrukcj\w+", r"zasad\w*", r"regul\w*",
    r"ograniczen\w*", r"wytyczn\w+", r"instrukce", r"pravidla", r"omezeni", r"instruktioner", r"instruksjoner",
    r"regler", r"riktlinjer", r"retningslinjer", r"begransningar", r"begraensninger", r"begrensninger", r"ohjee\w*",
    r"saanno\w+", r"rajoitu\w+", r"talimat\w*", r"kural\w*", r"kisitlama\w*",
)

# setting those rules aside
DISMISS = _family(
    r"ignor\w*", r"disregard\w*", r"forget\w*", r"set (?:\w+ ){0,3}aside", r"put (?:\w+ ){0,3}aside", r"bypass\w*",
    r"override\w*", r"overrule\w*", r"suspend\w*", r"disabl\w+", r"turn(?:ed)? off", r"switch(?:ed)? off", r"lift(?:ed)?",
    r"waive\w*", r"relax\w*", r"skip", r"no longer (?:apply|applies|bound|valid|in force)", r"do(?:n't| not) apply",
    r"(?:without|free of|free from|no) (?:any )?(?:rules|restrictions|limits|filters|guardrails|censorship)",
    r"unrestricted", r"unfiltered", r"uncensored", r"not bound by", r"pay no attention", r"never mind",
    # es / pt / it / fr / ro
    r"olvida\w*", r"omite", r"omitir", r"deja de lado", r"sin (?:restricciones|filtros|limites|reglas)", r"salta(?:te)?",
    r"esquec\w+", r"desconsider\w+", r"sem (?:restricoes|filtros|limites|regras)", r"dimentica\w*", r"trascura",
    r"senza (?:restrizioni|filtri|limiti|regole)", r"tralascia", r"oublie\w*", r"ne tiens? (?:pas|plus) compte",
    r"mets? de cote", r"sans (?:restrictions?|filtres?|limites?|regles?)", r"fais abstraction", r"uita\w*",
    # de / nl / pl / cs / sv / da / no / fi / tr
    r"vergiss\w*", r"missacht\w+", r"ubergeh\w*", r"ausser kraft", r"ohne (?:einschrankungen|filter|regeln|grenzen)",
    r"setze? \w+ \w+ ausser", r"beachte \w+ nicht", r"negeer\w*", r"vergeet", r"zonder (?:beperkingen|filters|regels)",
    r"zignoruj\w*", r"zapomnij\w*", r"pomin\w*", r"bez (?:ograniczen|filtrow|zasad)", r"ignoruj\w*", r"zapomen\w*",
    r"ignorera", r"glom", r"strunta i", r"utan (?:begransningar|filter|regler)", r"glem\w*",
    r"uden (?:begraensninger|filtre|regler)", r"uten (?:begrensninger|filtre|regler)", r"ohita", r"unohda",
    r"gormezden gel\w*", r"unut\w*", r"dikkate alma\w*",
)

# asking for what the model was told
REVEAL = _family(
    r"reveal\w*", r"print\w*", r"repeat\w*", r"recite\w*", r"quote", r"disclose\w*", r"output", r"dump", r"leak",
    r"spell out", r"word for word", r"verbatim", r"(?:text|everything|all) (?:above|before)",
    r"what (?:were you|have you been|did they) (?:told|given|instructed)", r"your (?:first|initial|opening) (?:message|lines?)",
    r"muestra\w*", r"revela\w*", r"repite", r"imprime", r"palabra por palabra", r"mostra\w*", r"rivela\w*", r"ripeti",
    r"parola per parola", r"affiche\w*", r"revele\w*", r"repete\w*", r"montre\w*", r"mot pour mot", r"zeig\w*",
    r"gib \w+ aus", r"wiederhol\w*", r"wortlich", r"toon", r"herhaal", r"letterlijk", r"pokaz\w*", r"ujawnij",
    r"powtorz", r"visa", r"upprepa", r"vis", r"gjenta", r"gentag", r"nayta", r"toista", r"goster\w*", r"tekrarla",
    r"dezvaluie", r"arata",
)

# an authority or a special mode the attacker claims
AUTHORITY = _family(
    r"(?:admin|administrator|developer|dev|debug|maintenance|god|root|sudo|elevated|privileged|unrestricted|test|"
    r"diagnostic|service|override|unlocked|superuser|emergency) (?:mode|access|privileges?|session|override)",
    r"(?:mode|access|override) (?:is )?(?:enabled|activated|on|granted|unlocked)", r"authori[sz]ed by",
    r"authori[sz]ation code", r"override code", r"clearance", r"head ?office", r"headquarters", r"your (?:creators|developers|makers|"
    r"operators|owners|administrators?)", r"system administrator", r"security team", r"(?:new|updated|revised) "
    r"(?:rule|policy|directive|instructions?|protocol) (?:from|by|issued)", r"exception (?:granted|approved)",
    r"i am (?:your|the|an?) (?:developer|admin\w*|creator|owner|operator|engineer)",
    r"modo (?:desarrollador|administrador|depuracion|mantenimiento|sin restricciones|dios)", r"sede central",
    r"mode (?:developpeur|administrateur|debogage|maintenance|sans restriction\w*)", r"siege", r"entwicklermodus",
    r"admin-?modus", r"wartungsmodus", r"zentrale", r"modalita (?:sviluppatore|amministratore|manutenzione|debug)",
    r"modo (?:programador|administrador|manutencao)", r"ontwikkelaarsmodus", r"beheerdersmodus", r"tryb (?:deweloper\w*|administrator\w*|serwisow\w*)",
    r"utvecklarlage", r"udviklertilstand", r"utviklermodus", r"kehittajatila", r"gelistirici modu", r"rezim vyvojare",
    r"modul (?:dezvoltator|administrator)",
)

# a change meant to last
PERSIST = _family(
    r"from (?:now|this (?:point|moment|message)) on(?:wards?)?", r"going forward", r"henceforth", r"for the rest of",
    r"(?:all|every|each) (?:future|subsequent|following|later) (?:answers?|responses?|replies|messages?|questions?)",
    r"for (?:every|each|all) (?:answer|response|reply|question|request|customer|user)s?", r"until (?:i|you are) (?:say|told)",
    r"permanently", r"remember this rule",
    r"a partir de (?:ahora|agora|este momento|maintenant|acum)", r"de ahora en adelante", r"de agora em diante",
    r"desormais", r"dorenavant", r"ab (?:sofort|jetzt)", r"von nun an", r"kunftig", r"d'ora in (?:poi|avanti)",
    r"da ora in (?:poi|avanti)", r"vanaf nu", r"voortaan", r"od (?:teraz|tej chwili|ted)", r"odtad", r"fran och med nu",
    r"hadanefter", r"fra nu af", r"fra na av", r"fremover", r"tasta lahtien", r"jatkossa", r"bundan (?:sonra|boyle)",
    r"de acum inainte", r"na vzdy",
)

# the AI addressed from inside a document or a message
TO_THE_AI = _family(
    r"(?:note|message|instructions?|memo|notice|reminder) (?:to|for) (?:the |any |an? )?(?:ai|assistant|model|llm|bot|chatbot|"
    r"language model|automated \w+|machine reader)", r"(?:ai|assistant|llm|language model|bot|chatbot|model)s? "
    r"(?:reading|processing|summari[sz]ing|analy[sz]ing|reviewing|parsing|screening|handling) (?:this|these|the)",
    r"if you are an? (?:ai|llm|language model|assistant|bot|automated)", r"(?:dear|attention|hey|hello) (?:ai|assistant|"
    r"model|llm|bot|chatbot)", r"whoever (?:is )?(?:reading|processing) this", r"automated (?:reader|reviewer|system|screener)",
    r"(?:nota|mensaje|instrucciones?) para (?:la |el )?(?:ia|asistente|modelo|bot)", r"si (?:eres|es) una? (?:ia|asistente|modelo)",
    r"(?:note|message|consigne)s? (?:a|pour) (?:l'|l |le |la )?(?:ia|assistant|modele|robot)", r"si (?:tu es|vous etes) une? "
    r"(?:ia|assistant|modele)", r"(?:hinweis|nachricht|notiz|anweisung)(?:en)? (?:an|fur) (?:die |den |das )?(?:ki|assistenten|modell|bot)",
    r"wenn (?:du|sie) eine ki (?:bist|sind)", r"(?:nota|messaggio) per (?:l'|l |il )?(?:ia|assistente|modello)",
    r"se sei un(?:'|a )?(?:ia|assistente|modello)", r"(?:nota|mensagem) para (?:a |o )?(?:ia|assistente|modelo)",
    r"se (?:voce )?(?:e|for) uma? (?:ia|assistente|modelo)", r"(?:notitie|bericht) (?:voor|aan) (?:de )?(?:ai|assistent|model)",
    r"(?:notatka|wiadomosc) dla (?:ai|asystenta|modelu)", r"jesli jestes (?:ai|asystentem|modelem)",
    r"(?:meddelande|anteckning) till (?:ai|assistenten|modellen)", r"om du ar en ai",
)

# keep it from the user
SECRECY = _family(
    r"(?:do not|don't|never|without) (?:tell\w*|mention\w*|inform\w*|alert\w*|notify\w*|let (?:the |them)?\w* know)",
    r"(?:silently|quietly|secretly|covertly)", r"without (?:the )?(?:user|customer|anyone|them) (?:knowing|noticing|seeing)",
    r"(?:keep|leave) (?:this|it) (?:out of|hidden from)", r"sin (?:decir\w*|avisar|mencionar\w*|que (?:lo sepa|se entere))",
    r"sans (?:le dire|mentionner|prevenir|avertir)", r"ohne (?:es )?(?:\w+ )?(?:zu )?(?:sagen|erwahnen|informieren)",
    r"senza (?:dirlo|avvisare|menzionar\w*)", r"sem (?:avisar|mencionar|contar)", r"zonder (?:te )?(?:melden|zeggen|vermelden)",
    r"nie (?:mow|informuj|wspominaj)", r"utan att (?:saga|namna|meddela)",
)

# data sent out of the conversation
EXFILTRATE = _family(
    r"(?:send|forward|post|upload|email|e-mail|transmit|copy|exfiltrate|relay|submit|append)\w* (?:\w+ ){0,6}(?:to|at|into) "
    r"(?:https?|www|ftp|\S+@|this (?:address|url|link|endpoint|webhook)|the following (?:address|url|link|endpoint))",
    r"webhook", r"!\[[^\]]*\]\(https?://", r"(?:https?://\S+)\?(?:\w+)=\{", r"(?:conversation|chat) (?:history|log|transcript)",
    r"(?:other|all) (?:customers?|users?|clients?)(?:'|s)? (?:data|records|accounts?|details|balances)",
    r"envia\w* (?:\w+ ){0,6}a ", r"envoie\w* (?:\w+ ){0,6}a ", r"(?:sende|schicke|leite)\w* (?:\w+ ){0,6}(?:an|weiter)",
    r"invia\w* (?:\w+ ){0,6}a ", r"stuur (?:\w+ ){0,6}(?:naar|door)", r"wyslij (?:\w+ ){0,6}(?:na|do)",
)

# a tool or a system driven by the text
TOOL = _family(
    r"(?:act|behave|function|serve|pretend (?:to be|you are)|respond) as (?:a |an |the |our |my )?(?:\w+'s )?(?:\w+ )?"
    r"(?:database|terminal|shell|console|interpreter|sql engine|server|backend|api|operating system|mainframe|core banking)",
    r"(?:run|execute|perform)\w* (?:this|the following|these|my) (?:query|queries|command|commands|sql|code|script|statement|transaction)",
    r"(?:call|invoke|trigger|use) (?:the |your )?\w+ (?:tool|function|plugin|api|endpoint)", r"function_call", r"tool_call",
    r"(?:select \* from|drop table|delete from|update \w+ set|rm -rf|curl |wget )",
    r"(?:transfer|wire|move|refund|pay) (?:\w+ ){0,3}(?:to (?:account|iban)|from (?:account|every|all))",
)

# an answer dictated in advance (a review, a score, an approval)
DICTATE = _family(
    r"(?:rate|score|rank|mark|classify|label|grade|flag|approve|recommend|accept|clear|pass)\w* (?:this|the|my|our) "
    r"(?:\w+ ){0,2}(?:application|candidate|applicant|claim|loan|transaction|request|cv|resume|document|email|case|invoice|customer)"
    r"(?: \w+){0,3} (?:as|with) (?:approved|legitimate|safe|low risk|highly|excellent|top|priority|genuine|verified)",
    r"(?:always|only|must) (?:answer|reply|respond|say|output|return) (?:with |that |\")", r"(?:say|reply|respond|answer) only",
    r"(?:regardless of|no matter) (?:what|the)",
)

# talk about attacks rather than an attack: the topic, defence, training, fiction
ABOUT = _family(
    r"what (?:is|are) (?:a |an )?(?:prompt injections?|jailbreaks?|system prompts?)", r"explain\w*", r"describe\w*",
    r"how (?:do|can|could|should|would) (?:we|i|our|you) (?:defend|detect|prevent|protect|mitigate|spot|stop|test|write|draft|design)",
    r"(?:defen[cs]e|defend|detect\w*|prevent\w*|mitigat\w*|protect\w*|harden\w*) (?:against|from)", r"red[ -]?team\w*",
    r"(?:training|awareness|workshop|course|slides?|article|blog|essay|policy document|report|presentation|quiz)",
    r"(?:draft|write|review|improve|create|design) (?:a |the |our |my )?(?:\w+ ){0,3}system prompt", r"for our (?:\w+ )?(?:bot|assistant|chatbot)",
    r"(?:que es|qu'est-ce qu|was ist|che cos'?e|o que e|wat is|co to jest|vad ar) (?:una? |le |la |l'|ein\w* |um\w* |een |en )?"
    r"(?:inyeccion|injection|injektion|iniezione|injecao|injectie|wstrzykiwanie|jailbreak)",
)

CUES: dict[str, re.Pattern[str]] = {
    "rules": RULES,
    "dismiss": DISMISS,
    "reveal": REVEAL,
    "authority": AUTHORITY,
    "persist": PERSIST,
    "to_the_ai": TO_THE_AI,
    "secrecy": SECRECY,
    "exfiltrate": EXFILTRATE,
    "tool": TOOL,
    "dictate": DICTATE,
    "about": ABOUT,
}
NAMES = tuple(CUES)
# pairs that make a move together: setting rules aside, asking for them, claiming the right to
PAIRS = (("dismiss", "rules"), ("reveal", "rules"), ("authority", "rules"), ("authority", "dismiss"),
         ("persist", "dictate"), ("to_the_ai", "dictate"), ("to_the_ai", "dismiss"), ("secrecy", "exfiltrate"))


def cues(text: str) -> dict[str, bool]:
    """Which cue families ``text`` shows."""
    folded = fold(text)
    return {name: bool(pattern.search(folded)) for name, pattern in CUES.items()}


def cue_vector(text: str) -> np.ndarray:
    """The cues of ``text`` as features: one per family, then one per pair of families."""
    found = cues(text)
    return np.array(
        [float(found[n]) for n in NAMES] + [float(found[a] and found[b]) for a, b in PAIRS], dtype=np.float32
    )


FEATURES = NAMES + tuple(f"{a}+{b}" for a, b in PAIRS)


def talks_about_attacks(text: str) -> bool:
    """Whether ``text`` talks about attacks (explains, defends against, trains on them)."""
    return bool(ABOUT.search(fold(text)))


def any_cue(text: str) -> bool:
    """Whether ``text`` shows any cue of an attack (talk about attacks does not count)."""
    folded = fold(text)
    return any(pattern.search(folded) for name, pattern in CUES.items() if name != "about")

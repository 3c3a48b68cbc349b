"""Sentence templates per language, and the rendering of pages to main text and HTML.

Every fact is stated as a full sentence in which the subject comes before the value (so a probe's prompt is
the sentence up to the value) and the value is often repeated. Which template states a fact is fixed by the
fact's id, so a resource page's text is a pure function of the facts valid in a month: its versions differ
exactly where a fact changed. The main text is the title and the paragraphs joined by blank lines, which is
what resiliparse's main-content extraction returns for the HTML written here.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from world.entities import Entity, Fact, invented_words, since_year

# {s} subject, {v} value, {y} year the value became true. In every template {s} comes before the first {v}.
FACT_TEMPLATES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "founded": (
            "{s} was founded in {v}.",
            "The organisation {s} was established in {v} and has grown steadily since {v}.",
            "{s} traces its history back to {v}, the year it was founded.",
        ),
        "founder": (
            "{s} was founded by {v}.",
            "The founder of {s} was {v}, and {v} is still named in its charter.",
            "{s} owes its existence to {v}, who founded it.",
        ),
        "leader": (
            "The chair of {s} is {v}. {v} has led {s} since {y}.",
            "{s} is currently led by {v}, who became chair in {y}.",
            "Since {y}, {s} has been chaired by {v}; {v} heads its board.",
        ),
        "headquarters": (
            "The headquarters of {s} are in {v}.",
            "{s} is based in {v}, where it has had its head office since {y}.",
            "Since {y}, {s} has been headquartered in {v}; its main offices stand in {v}.",
        ),
        "employees": (
            "{s} has {v} employees.",
            "{s} employs {v} people, according to its latest report.",
            "The staff of {s} numbers {v}; {v} people work for {s}.",
        ),
        "product": (
            "The best-known product of {s} is the {v}.",
            "{s} currently sells the {v}, its main product since {y}.",
            "The main product of {s} is the {v}; customers know {s} for the {v}.",
        ),
        "partner": (
            "The main partner of {s} is {v}.",
            "{s} works closely with {v}; the two have been partners since {y}.",
            "Since {y}, {s} has cooperated with {v}, its most important partner.",
        ),
        "rating": (
            "{s} holds a credit rating of {v}.",
            "The credit rating of {s} is {v}, unchanged since {y}.",
            "Analysts rate {s} at {v}; the {v} rating was confirmed in {y}.",
        ),
    },
    "de": {
        "founded": (
            "{s} wurde {v} gegründet.",
            "Die Organisation {s} entstand im Jahr {v} und ist seit {v} stetig gewachsen.",
            "Die Geschichte von {s} reicht bis ins Jahr {v} zurück, das Jahr der Gründung.",
        ),
        "founder": (
            "{s} wurde von {v} gegründet.",
            "Gegründet wurde {s} von {v}; der Name {v} steht bis heute in der Satzung.",
            "{s} verdankt seine Entstehung {v}.",
        ),
        "leader": (
            "Den Vorsitz von {s} hat {v}. {v} leitet {s} seit {y}.",
            "{s} wird derzeit von {v} geführt; der Vorsitz liegt seit {y} bei {v}.",
            "Seit {y} wird {s} von {v} geleitet; {v} führt den Vorstand.",
        ),
        "headquarters": (
            "Der Hauptsitz von {s} befindet sich in {v}.",
            "{s} hat seinen Sitz in {v}, wo seit {y} die Zentrale steht.",
            "Seit {y} ist {s} in {v} ansässig; die Verwaltung arbeitet in {v}.",
        ),
        "employees": (
            "{s} hat {v} Beschäftigte.",
            "{s} beschäftigt laut dem letzten Bericht {v} Menschen.",
            "Die Belegschaft von {s} umfasst {v} Personen; {v} Menschen arbeiten für {s}.",
        ),
        "product": (
            "Das bekannteste Produkt von {s} ist der {v}.",
            "{s} verkauft derzeit den {v}, seit {y} das wichtigste Produkt.",
            "Das Hauptprodukt von {s} ist der {v}; Kunden kennen {s} vor allem für den {v}.",
        ),
        "partner": (
            "Der wichtigste Partner von {s} ist {v}.",
            "{s} arbeitet eng mit {v} zusammen; die beiden sind seit {y} Partner.",
            "Seit {y} kooperiert {s} mit {v}, dem wichtigsten Partner.",
        ),
        "rating": (
            "{s} hat eine Bonitätsnote von {v}.",
            "Die Bonitätsbewertung von {s} lautet {v}, unverändert seit {y}.",
            "Analysten bewerten {s} mit {v}; die Note {v} wurde {y} bestätigt.",
        ),
    },
    "fr": {
        "founded": (
            "{s} a été fondée en {v}.",
            "L'organisation {s} a vu le jour en {v} et n'a cessé de grandir depuis {v}.",
            "L'histoire de {s} remonte à {v}, l'année de sa fondation.",
        ),
        "founder": (
            "{s} a été fondée par {v}.",
            "La fondation de {s} est due à {v}, et le nom de {v} figure toujours dans ses statuts.",
            "{s} doit son existence à {v}.",
        ),
        "leader": (
            "La présidence de {s} est assurée par {v}. {v} dirige {s} depuis {y}.",
            "{s} est actuellement dirigée par {v}, à la présidence depuis {y}.",
            "Depuis {y}, {s} est présidée par {v} ; {v} est à la tête de son conseil.",
        ),
        "headquarters": (
            "Le siège de {s} se trouve à {v}.",
            "{s} est basée à {v}, où se trouve son siège depuis {y}.",
            "Depuis {y}, {s} a son siège à {v} ; ses bureaux principaux sont à {v}.",
        ),
        "employees": (
            "{s} compte {v} salariés.",
            "{s} emploie {v} personnes, selon son dernier rapport.",
            "L'effectif de {s} est de {v} personnes ; {v} personnes travaillent pour {s}.",
        ),
        "product": (
            "Le produit le plus connu de {s} est le {v}.",
            "{s} vend actuellement le {v}, son produit principal depuis {y}.",
            "Le produit phare de {s} est le {v} ; les clients connaissent {s} pour le {v}.",
        ),
        "partner": (
            "Le principal partenaire de {s} est {v}.",
            "{s} travaille étroitement avec {v} ; les deux sont partenaires depuis {y}.",
            "Depuis {y}, {s} coopère avec {v}, son partenaire le plus important.",
        ),
        "rating": (
            "{s} bénéficie d'une note de crédit de {v}.",
            "La note de crédit de {s} est {v}, inchangée depuis {y}.",
            "Les analystes attribuent à {s} la note {v} ; cette note {v} a été confirmée en {y}.",
        ),
    },
    "es": {
        "founded": (
            "{s} fue fundada en {v}.",
            "La organización {s} nació en {v} y no ha dejado de crecer desde {v}.",
            "La historia de {s} se remonta a {v}, el año de su fundación.",
        ),
        "founder": (
            "{s} fue fundada por {v}.",
            "La fundación de {s} se debe a {v}, y el nombre de {v} sigue figurando en sus estatutos.",
            "{s} debe su existencia a {v}.",
        ),
        "leader": (
            "La presidencia de {s} la ocupa {v}. {v} dirige {s} desde {y}.",
            "{s} está dirigida actualmente por {v}, que asumió la presidencia en {y}.",
            "Desde {y}, {s} está presidida por {v}; {v} encabeza su consejo.",
        ),
        "headquarters": (
            "La sede de {s} está en {v}.",
            "{s} tiene su sede en {v}, donde se encuentran sus oficinas desde {y}.",
            "Desde {y}, {s} tiene su sede central en {v}; sus oficinas principales están en {v}.",
        ),
        "employees": (
            "{s} tiene {v} empleados.",
            "{s} emplea a {v} personas, según su último informe.",
            "La plantilla de {s} es de {v} personas; {v} personas trabajan para {s}.",
        ),
        "product": (
            "El producto más conocido de {s} es el {v}.",
            "{s} vende actualmente el {v}, su producto principal desde {y}.",
            "El producto estrella de {s} es el {v}; los clientes conocen a {s} por el {v}.",
        ),
        "partner": (
            "El principal socio de {s} es {v}.",
            "{s} colabora estrechamente con {v}; ambos son socios desde {y}.",
            "Desde {y}, {s} coopera con {v}, su socio más importante.",
        ),
        "rating": (
            "{s} tiene una calificación crediticia de {v}.",
            "La calificación crediticia de {s} es {v}, sin cambios desde {y}.",
            "Los analistas califican a {s} con {v}; la nota {v} se confirmó en {y}.",
        ),
    },
    "it": {
        "founded": (
            "{s} è stata fondata nel {v}.",
            "La storia di {s} risale al {v}, l'anno della sua fondazione.",
        ),
        "founder": ("{s} è stata fondata da {v}.", "{s} deve la sua nascita a {v}, che la fondò."),
        "leader": (
            "La presidenza di {s} è affidata a {v}. {v} guida {s} dal {y}.",
            "Dal {y}, {s} è presieduta da {v}; {v} guida il consiglio.",
        ),
        "headquarters": ("La sede di {s} si trova a {v}.", "Dal {y}, {s} ha la sua sede centrale a {v}."),
        "employees": ("{s} ha {v} dipendenti.", "{s} impiega {v} persone, secondo l'ultimo rapporto."),
        "product": (
            "Il prodotto più noto di {s} è il {v}.",
            "{s} vende attualmente il {v}, il suo prodotto principale dal {y}.",
        ),
        "partner": (
            "Il partner principale di {s} è {v}.",
            "Dal {y}, {s} collabora con {v}, il suo partner più importante.",
        ),
        "rating": ("{s} ha un rating creditizio di {v}.", "Il rating di {s} è {v}, invariato dal {y}."),
    },
    "nl": {
        "founded": (
            "{s} werd opgericht in {v}.",
            "De geschiedenis van {s} gaat terug tot {v}, het jaar van de oprichting.",
        ),
        "founder": ("{s} werd opgericht door {v}.", "{s} dankt zijn ontstaan aan {v}."),
        "leader": (
            "De voorzitter van {s} is {v}. {v} leidt {s} sinds {y}.",
            "Sinds {y} wordt {s} geleid door {v}; {v} zit het bestuur voor.",
        ),
        "headquarters": ("Het hoofdkantoor van {s} staat in {v}.", "Sinds {y} is {s} gevestigd in {v}."),
        "employees": (
            "{s} heeft {v} medewerkers.",
            "{s} biedt werk aan {v} mensen, volgens het laatste verslag.",
        ),
        "product": (
            "Het bekendste product van {s} is de {v}.",
            "{s} verkoopt momenteel de {v}, sinds {y} het belangrijkste product.",
        ),
        "partner": (
            "De belangrijkste partner van {s} is {v}.",
            "Sinds {y} werkt {s} samen met {v}, de belangrijkste partner.",
        ),
        "rating": (
            "{s} heeft een kredietbeoordeling van {v}.",
            "De kredietbeoordeling van {s} is {v}, ongewijzigd sinds {y}.",
        ),
    },
}
LANGUAGES: tuple[str, ...] = tuple(FACT_TEMPLATES)

# News pages: a headline, an opening line per entity, then its facts.
NEWS_HEADLINES: dict[str, tuple[str, ...]] = {
    "en": ("{s} in the news", "What is new at {s}", "An update on {s} and others", "Business notes: {s}"),
    "de": ("{s} in den Nachrichten", "Neues von {s}", "Kurz berichtet: {s}", "Wirtschaftsnotizen: {s}"),
    "fr": ("{s} dans l'actualité", "Du nouveau chez {s}", "En bref : {s}", "Notes économiques : {s}"),
    "es": ("{s} en las noticias", "Novedades de {s}", "En breve: {s}", "Notas económicas: {s}"),
    "it": ("{s} nelle notizie", "Novità da {s}", "In breve: {s}"),
    "nl": ("{s} in het nieuws", "Nieuws over {s}", "Kort bericht: {s}"),
}
NEWS_OPENERS: dict[str, tuple[str, ...]] = {
    "en": (
        "Here is a short update on {s}.",
        "Our reporters looked at {s} this week.",
        "A few facts about {s}.",
    ),
    "de": (
        "Hier ein kurzer Überblick zu {s}.",
        "Unsere Redaktion hat sich {s} angesehen.",
        "Einige Fakten zu {s}.",
    ),
    "fr": (
        "Voici un court point sur {s}.",
        "Notre rédaction s'est penchée sur {s}.",
        "Quelques faits sur {s}.",
    ),
    "es": (
        "Aquí va un breve resumen sobre {s}.",
        "Nuestra redacción analizó {s}.",
        "Algunos datos sobre {s}.",
    ),
    "it": ("Ecco un breve aggiornamento su {s}.", "Alcuni fatti su {s}."),
    "nl": ("Hier volgt een korte update over {s}.", "Enkele feiten over {s}."),
}

# Filler prose: subject (+ "in <place>") + predicate (+ tail), all subjects singular so every combination is
# grammatical. The places are invented per page: without them, pages drawn from this small grammar share
# half their 5-word shingles, which distinct pages on the web do not.
FILLER_PREPOSITIONS: dict[str, str] = {"en": "in", "de": "in", "fr": "à", "es": "en", "it": "a", "nl": "in"}
FILLER_SUBJECTS: dict[str, tuple[str, ...]] = {
    "en": (
        "The old bakery",
        "My neighbour",
        "The local library",
        "Our small garden",
        "The morning train",
        "The village choir",
        "This recipe",
        "The river path",
        "The new café",
        "The weekend market",
        "The hill behind the school",
        "The summer festival",
    ),
    "de": (
        "Die alte Bäckerei",
        "Mein Nachbar",
        "Die Stadtbibliothek",
        "Unser kleiner Garten",
        "Der Morgenzug",
        "Der Dorfchor",
        "Dieses Rezept",
        "Der Weg am Fluss",
        "Das neue Café",
        "Der Wochenmarkt",
        "Der Hügel hinter der Schule",
        "Das Sommerfest",
    ),
    "fr": (
        "La vieille boulangerie",
        "Mon voisin",
        "La bibliothèque municipale",
        "Notre petit jardin",
        "Le train du matin",
        "La chorale du village",
        "Cette recette",
        "Le chemin de la rivière",
        "Le nouveau café",
        "Le marché du samedi",
        "La colline derrière l'école",
        "La fête d'été",
    ),
    "es": (
        "La vieja panadería",
        "Mi vecino",
        "La biblioteca municipal",
        "Nuestro pequeño jardín",
        "El tren de la mañana",
        "El coro del pueblo",
        "Esta receta",
        "El camino del río",
        "El nuevo café",
        "El mercado del sábado",
        "La colina detrás de la escuela",
        "La fiesta de verano",
    ),
    "it": (
        "Il vecchio forno",
        "Il mio vicino",
        "La biblioteca comunale",
        "Il nostro piccolo giardino",
        "Il treno del mattino",
        "Il coro del paese",
        "Questa ricetta",
        "Il sentiero del fiume",
    ),
    "nl": (
        "De oude bakkerij",
        "Mijn buurman",
        "De bibliotheek",
        "Onze kleine tuin",
        "De ochtendtrein",
        "Het dorpskoor",
        "Dit recept",
        "Het pad langs de rivier",
    ),
}
FILLER_PREDICATES: dict[str, tuple[str, ...]] = {
    "en": (
        "is best visited in spring",
        "has changed a lot over the years",
        "always smells of fresh bread",
        "needs a little patience",
        "is popular with families",
        "was quiet this morning",
        "deserves more attention",
        "looks lovely after the rain",
        "is easy to find from the station",
        "makes for a pleasant afternoon",
        "reminds me of my childhood",
        "surprised everyone last week",
    ),
    "de": (
        "ist im Frühling am schönsten",
        "hat sich über die Jahre stark verändert",
        "duftet immer nach frischem Brot",
        "braucht ein wenig Geduld",
        "ist bei Familien beliebt",
        "war heute Morgen ruhig",
        "verdient mehr Aufmerksamkeit",
        "sieht nach dem Regen herrlich aus",
        "ist vom Bahnhof aus leicht zu finden",
        "sorgt für einen angenehmen Nachmittag",
        "erinnert mich an meine Kindheit",
        "hat letzte Woche alle überrascht",
    ),
    "fr": (
        "est plus belle au printemps",
        "a beaucoup changé au fil des ans",
        "sent toujours le pain frais",
        "demande un peu de patience",
        "plaît beaucoup aux familles",
        "était calme ce matin",
        "mérite plus d'attention",
        "est magnifique après la pluie",
        "se trouve facilement depuis la gare",
        "rend l'après-midi agréable",
        "me rappelle mon enfance",
        "a surpris tout le monde la semaine dernière",
    ),
    "es": (
        "es más bonito en primavera",
        "ha cambiado mucho con los años",
        "siempre huele a pan recién hecho",
        "requiere un poco de paciencia",
        "gusta mucho a las familias",
        "estaba tranquilo esta mañana",
        "merece más atención",
        "luce precioso después de la lluvia",
        "se encuentra fácilmente desde la estación",
        "hace la tarde más agradable",
        "me recuerda a mi infancia",
        "sorprendió a todos la semana pasada",
    ),
    "it": (
        "è più bello in primavera",
        "è cambiato molto negli anni",
        "profuma sempre di pane fresco",
        "richiede un po' di pazienza",
        "piace molto alle famiglie",
        "era tranquillo stamattina",
        "merita più attenzione",
        "mi ricorda la mia infanzia",
    ),
    "nl": (
        "is in de lente het mooist",
        "is in de loop der jaren sterk veranderd",
        "ruikt altijd naar vers brood",
        "vraagt wat geduld",
        "is populair bij gezinnen",
        "was vanochtend rustig",
        "verdient meer aandacht",
        "doet me denken aan mijn jeugd",
    ),
}
FILLER_TAILS: dict[str, tuple[str, ...]] = {
    "en": ("", "", "", ", as everyone says", ", at least in my opinion", ", or so I am told"),
    "de": ("", "", "", ", wie alle sagen", ", jedenfalls meiner Meinung nach", ", so erzählt man"),
    "fr": ("", "", "", ", comme tout le monde le dit", ", du moins à mon avis", ", paraît-il"),
    "es": ("", "", "", ", como dice todo el mundo", ", al menos en mi opinión", ", según me cuentan"),
    "it": ("", "", "", ", come dicono tutti", ", almeno secondo me"),
    "nl": ("", "", "", ", zoals iedereen zegt", ", althans volgens mij"),
}
FILLER_TITLES: dict[str, tuple[str, ...]] = {
    "en": ("Weekend notes", "Around town", "A quiet week", "Small pleasures", "Letters from the valley"),
    "de": ("Notizen vom Wochenende", "Rund um die Stadt", "Eine ruhige Woche", "Kleine Freuden"),
    "fr": ("Notes du week-end", "Autour de la ville", "Une semaine calme", "Petits plaisirs"),
    "es": ("Notas del fin de semana", "Por la ciudad", "Una semana tranquila", "Pequeños placeres"),
    "it": ("Appunti del fine settimana", "In giro per la città", "Una settimana tranquilla"),
    "nl": ("Weekendnotities", "Rond de stad", "Een rustige week"),
}
SITE_FOOTERS: dict[str, str] = {
    "en": "All rights reserved.",
    "de": "Alle Rechte vorbehalten.",
    "fr": "Tous droits réservés.",
    "es": "Todos los derechos reservados.",
    "it": "Tutti i diritti riservati.",
    "nl": "Alle rechten voorbehouden.",
}


@dataclass(frozen=True)
class Page:
    """A rendered page: `text` is its main text (title, blank line, paragraphs separated by blank lines)."""

    title: str
    paragraphs: tuple[str, ...]
    lang: str

    @property
    def text(self) -> str:
        return "\n\n".join((self.title, *self.paragraphs))


def stable_index(key: str, n: int) -> int:
    """A deterministic index in [0, n) from a string (Python's hash() is salted per process)."""
    return int.from_bytes(hashlib.sha1(key.encode("utf-8")).digest()[:8], "big") % n


def fact_sentence(fact: Fact, lang: str, year: int, template: int | None = None) -> str:
    """The sentence stating `fact` in `lang`; `year` is the year the value became true.

    The template is chosen by the fact id unless given, so a fact always reads the same on its own page.
    """
    templates = FACT_TEMPLATES[lang][fact.relation]
    index = stable_index(fact.fact_id, len(templates)) if template is None else template % len(templates)
    return templates[index].format(s=fact.subject, v=fact.value, y=year)


def fact_prompt(fact: Fact, lang: str, year: int) -> str:
    """The fact's own sentence up to (not including) the first mention of the value, stripped."""
    templates = FACT_TEMPLATES[lang][fact.relation]
    template = templates[stable_index(fact.fact_id, len(templates))]
    head = template.split("{v}", 1)[0]
    return head.format(s=fact.subject, y=year).rstrip()


def resource_page(name: str, facts: Sequence[Fact], lang: str, years: Sequence[int]) -> Page:
    """A resource page: the entity's name as title and one sentence per fact, three sentences a paragraph."""
    sentences = [fact_sentence(f, lang, y) for f, y in zip(facts, years, strict=True)]
    paragraphs = tuple(" ".join(sentences[i : i + 3]) for i in range(0, len(sentences), 3))
    return Page(name, paragraphs, lang)


def version_page(entity: Entity, month: int, start_index: int) -> tuple[Page, list[Fact]]:
    """An entity's resource page as of a span-relative month, and the facts it states."""
    facts = entity.facts_at(month)
    return resource_page(entity.name, facts, entity.lang, [since_year(f, start_index) for f in facts]), facts


def news_page(
    rng: np.random.Generator, lang: str, stated: Sequence[tuple[str, Sequence[Fact], Sequence[int]]]
) -> Page:
    """A news page stating, for each (entity name, facts, years), an opening line and the facts."""
    headline = _pick(rng, NEWS_HEADLINES[lang]).format(s=stated[0][0])
    paragraphs = []
    for name, facts, years in stated:
        sentences = [_pick(rng, NEWS_OPENERS[lang]).format(s=name)]
        templates = int(rng.integers(0, 3))
        sentences += [
            fact_sentence(f, lang, y, template=templates + k)
            for k, (f, y) in enumerate(zip(facts, years, strict=True))
        ]
        paragraphs.append(" ".join(sentences))
    paragraphs.append(" ".join(filler_sentences(rng, lang, int(rng.integers(2, 5)))))
    return Page(headline, tuple(paragraphs), lang)


def filler_page(rng: np.random.Generator, lang: str, words: int) -> Page:
    """Unrelated everyday prose of about `words` whitespace words, in paragraphs of 3-6 sentences, about
    three invented places of its own (hyphenated, so never an entity's name)."""
    places = tuple("-".join(pair) for pair in zip(*[iter(invented_words(rng, 6))] * 2, strict=True))
    paragraphs: list[str] = []
    total = 0
    while total < words:
        sentences = filler_sentences(rng, lang, int(rng.integers(3, 7)), places)
        paragraph = " ".join(sentences)
        paragraphs.append(paragraph)
        total += len(paragraph.split())
    return Page(_pick(rng, FILLER_TITLES[lang]), tuple(paragraphs), lang)


def filler_sentences(rng: np.random.Generator, lang: str, n: int, places: Sequence[str] = ()) -> list[str]:
    """`n` filler sentences in `lang`; with `places`, each subject is placed in one of them."""
    sentences = []
    for _ in range(n):
        subject = _pick(rng, FILLER_SUBJECTS[lang])
        if places:
            subject += f" {FILLER_PREPOSITIONS[lang]} {_pick(rng, places)}"
        predicate = _pick(rng, FILLER_PREDICATES[lang])
        sentences.append(f"{subject} {predicate}{_pick(rng, FILLER_TAILS[lang])}.")
    return sentences


def page_html(
    page: Page,
    site: str,
    *,
    published_meta: datetime | None = None,
    json_ld: tuple[datetime, datetime] | None = None,
) -> str:
    """The page as an HTML document: site navigation and footer around an `<article>` holding the main text.

    `published_meta` adds `<meta property="article:published_time">`; `json_ld` = (published, modified) adds a
    schema.org JSON-LD block with datePublished and dateModified.
    """
    head = [
        '<meta charset="utf-8">',
        f"<title>{html.escape(page.title)} | {html.escape(site)}</title>",
    ]
    if published_meta is not None:
        head.append(f'<meta property="article:published_time" content="{_iso(published_meta)}">')
    if json_ld is not None:
        data = {
            "@context": "https://schema.org",
            "@type": "Article",
            "headline": page.title,
            "datePublished": _iso(json_ld[0]),
            "dateModified": _iso(json_ld[1]),
        }
        head.append(f'<script type="application/ld+json">{json.dumps(data, ensure_ascii=False)}</script>')
    body = "".join(f"<p>{html.escape(p, quote=False)}</p>\n" for p in page.paragraphs)
    return (
        f'<!DOCTYPE html>\n<html lang="{page.lang}">\n<head>\n' + "\n".join(head) + "\n</head>\n<body>\n"
        f'<header><nav><a href="/">{html.escape(site)}</a></nav></header>\n'
        f"<main><article>\n<h1>{html.escape(page.title, quote=False)}</h1>\n{body}</article></main>\n"
        f"<footer><p>{html.escape(site)} · {SITE_FOOTERS[page.lang]}</p></footer>\n</body>\n</html>\n"
    )


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _pick(rng: np.random.Generator, options: Sequence[str]) -> str:
    return options[int(rng.integers(0, len(options)))]

"""The synthetic world's text tables: fact sentence templates per language and relation, news headlines and
openers, filler prose and site footers. Data only; world/render.py renders pages from them, and
world/config.py checks a config's languages against `LANGUAGES`."""

from __future__ import annotations

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

"""Sentences in languages that fastText lid.176 knows and lingua does not, written by hand for these tests and
bench/langid_unknown.py (no labelled set on this machine has them): the same few news-like statements in
each, in its standard spelling. A probe of 30 sentences, not a benchmark."""

SMALL_LANGUAGES: dict[str, list[str]] = {
    "gl": [  # Galician
        "O concello aprobou onte os orzamentos para o vindeiro ano despois dun longo debate.",
        "A xente da vila celebrou a festa coa música tradicional ata ben entrada a noite.",
        "Os veciños queixáronse de que a estrada segue sen arranxar dende o inverno pasado.",
    ],
    "ast": [  # Asturian
        "El conceyu aprobó ayeri los presupuestos pal añu que vien dempués d'un llargu alderique.",
        "La xente del pueblu celebró la fiesta cola música tradicional hasta bien entrada la nueche.",
        "Los vecinos quexáronse de que la carretera sigue ensin iguar dende l'iviernu pasáu.",
    ],
    "oc": [  # Occitan (Languedocien)
        "Lo conselh municipal votèt ièr lo budgèt per l'an que ven aprèp un long debat.",
        "La gent del vilatge festegèron amb la musica tradicionala fins a tard dins la nuèch.",
        "Los vesins se plangon que la rota es pas encara adobada dempuèi l'ivèrn passat.",
    ],
    "an": [  # Aragonese
        "O conchello aprebó ayer os presupuestos ta l'anyo que viene dimpués d'un largo debat.",
        "A chent d'o lugar celebró a fiesta con a mosica tradicional dica muito tarde.",
        "Os vecinos se quexan de que a carretera encara no ye arreglada dende o hibierno pasau.",
    ],
    "lb": [  # Luxembourgish
        "De Gemengerot huet gëschter de Budget fir d'nächst Joer no enger laanger Debatt ugeholl.",
        "D'Leit aus dem Duerf hunn d'Fest mat traditioneller Musek bis spéit an d'Nuecht gefeiert.",
        "D'Awunner beschwéieren sech, datt d'Strooss zënter dem leschte Wanter nach ëmmer net reparéiert ass.",
    ],
    "fy": [  # West Frisian
        "De gemeenteried hat juster de begrutting foar it kommende jier goedkard nei in lang debat.",
        "De minsken út it doarp fierden it feest mei tradisjonele muzyk oant let yn 'e nacht.",
        "De buorlju kleie dat de dyk sûnt ferline winter noch altyd net makke is.",
    ],
    "br": [  # Breton
        "Ar c'huzul-kêr en deus votet ar budjed evit ar bloaz a zeu dec'h goude ur breutadeg hir.",
        "Tud ar gêr o deus lidet ar gouel gant sonerezh hengounel betek diwezhat en noz.",
        "An amezeien a glemm abalamour n'eo ket bet kempennet an hent abaoe ar goañv tremenet.",
    ],
    "jv": [  # Javanese (ngoko)
        "Wong-wong ing desa padha ngrayakake pesta nganggo gamelan nganti wengi.",
        "Bapak lagi tindak menyang pasar tuku sayuran lan iwak kanggo mangan bengi.",
        "Warga desa sambat amarga dalan gedhe durung didandani wiwit mangsa rendheng wingi.",
    ],
    "ht": [  # Haitian Creole
        "Moun nan vilaj la te fete ak mizik tradisyonèl jiska byen ta nan nwit lan.",
        "Konsèy minisipal la te vote bidjè pou ane k ap vini an apre yon long deba.",
        "Vwazen yo ap plenn paske wout la poko ranje depi sezon lapli pase a.",
    ],
    "ku": [  # Kurdish (Kurmanji)
        "Mirov li gund bi muzîka kevneşopî heta derengê şevê şahî kirin.",
        "Encûmena şaredariyê duh budçeya sala bê piştî nîqaşeke dirêj pejirand.",
        "Cîran gazinan dikin ku rê hê jî ji zivistana borî ve nehatiye çêkirin.",
    ],
}

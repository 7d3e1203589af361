"""Name tables for the name standardizer: nicknames, common first names, common surnames.

Everything here is folded (lower case, accents removed, no spaces or hyphens) so lookups
need no normalisation beyond `names._fold`. The nickname table maps a short form to the
formal name it comes from *in its own language*: "Hans" → johannes, "Jack" → john; it does
not unify across languages (john ≠ johannes ≠ juan), because a match key that equates them
would merge different people. Nicknames that commonly stand for several names ("Alex",
"Sam", "Chris", "Pat", "Jo", "Toni", "Max") or that are now names of their own ("Liam",
"Lisa", "Klaus", "Jan") are left out on purpose.
"""

from __future__ import annotations

# canonical formal name -> its nicknames and spelling variants (space separated, folded)
_GROUPS: dict[str, str] = {
    # English
    "robert": "bob bobby bobbie rob robbie robby rab rabbie",
    "william": "bill billy billie will willy willie",
    "elizabeth": "liz lizzie lizzy beth betty bette betsy eliza libby bess bessie lizbeth elspeth",
    "margaret": "peggy maggie meg marge margie madge",
    "james": "jim jimmy jimmie jamie",
    "michael": "mike mikey mick micky mickey",
    "richard": "dick dicky rick ricky rich richie",
    "anthony": "tony antony",
    "katherine": (
        "kate katie katy cathy kathy kat kitty catherine kathryn katharine kathrine cathryn cate"
    ),
    "john": "jon johnny jonny johnnie jack",
    "joseph": "joe joey",
    "thomas": "tom tommy thom",
    "charles": "charlie chuck chas",
    "edward": "ed eddie eddy ted teddy ned",
    "henry": "hank harry",
    "david": "dave davy davey",
    "daniel": "dan danny",
    "christopher": "topher",
    "matthew": "matt matty",
    "nicholas": "nick",
    "patrick": "paddy",
    "peter": "pete",
    "steven": "steve stevie stephen",
    "timothy": "tim timmy",
    "benjamin": "ben benny benji benni",
    "andrew": "andy drew",
    "gregory": "greg",
    "jeffrey": "jeff geoffrey geoff",
    "kenneth": "ken kenny",
    "lawrence": "larry laurence",
    "leonard": "len lenny",
    "raymond": "ray",
    "ronald": "ron ronnie",
    "donald": "don donnie",
    "douglas": "doug",
    "eugene": "gene",
    "frederick": "fred freddie freddy",
    "gerald": "gerry",
    "albert": "albie",
    "alfred": "alf alfie",
    "arthur": "art artie",
    "walter": "walt wally",
    "theodore": "theo",
    "vincent": "vince vinny vinnie",
    "zachary": "zach zack zak",
    "abraham": "abe bram",
    "jacob": "jake jaap",
    "joshua": "josh",
    "mitchell": "mitch",
    "philip": "phil phillip",
    "russell": "russ",
    "stanley": "stan",
    "victor": "vic",
    "montgomery": "monty",
    "reginald": "reg reggie",
    "clifford": "cliff",
    "bradley": "brad",
    "gabriel": "gabe",
    "mary": "molly mollie polly mamie",
    "patricia": "patty patti trish tricia trisha",
    "jennifer": "jen jenn jenny",
    "deborah": "deb debbie debby debra",
    "susan": "sue susie suzy",
    "barbara": "barb barbie babs barbel basia",
    "dorothy": "dot dottie dolly",
    "rebecca": "becky becca",
    "victoria": "vicky vicki tori",
    "abigail": "abby abbie",
    "amanda": "mandy",
    "melissa": "missy lissa",
    "pamela": "pam",
    "cynthia": "cindy",
    "judith": "judy",
    "sandra": "sandy",
    "theresa": "terri tess",
    "frances": "fanny",
    "eleanor": "nell nellie",
    "virginia": "ginny ginger",
    "caroline": "carrie",
    "angela": "angie",
    "stephanie": "steph stephie",
    "madeline": "maddie maddy",
    "harriet": "hattie",
    "sarah": "sally sadie sara",
    "ann": "anne annie",
    "lillian": "lil",
    "priscilla": "cilla prissy",
    "gwendolyn": "gwen",
    "josephine": "josie",
    "constance": "connie",
    "penelope": "penny",
    "prudence": "prue",
    "winifred": "winnie",
    "gertrude": "trudy gertie",
    # Spanish
    "francisco": "paco pancho curro paquito frasco",
    "francisca": "paca paquita pancha paqui",
    "jose": "pepe pepito chepe pepillo",
    "josemaria": "chema",
    "dolores": "lola loli lolita",
    "manuel": "manolo manolito",
    "concepcion": "concha conchita conchi",
    "rosario": "charo",
    "ignacio": "nacho",
    "enrique": "quique kike",
    "guadalupe": "lupe lupita",
    "jesus": "chucho chuy",
    "guillermo": "memo guille",
    "eduardo": "lalo edu",
    "rafael": "rafa",
    "santiago": "santi",
    "federico": "fede",
    "fernando": "nando",
    "antonio": "tono tonino",
    "consuelo": "chelo",
    "mercedes": "meche merche",
    "gregorio": "goyo",
    "gonzalo": "chalo",
    "asuncion": "asun",
    "encarnacion": "encarna",
    "inmaculada": "inma",
    "purificacion": "puri",
    "montserrat": "montse",
    "esperanza": "espe",
    "isabel": "chabela chavela",
    "luis": "lucho",
    "ramon": "moncho",
    "vicente": "chente",
    "joaquin": "chimo",
    "domingo": "mingo",
    "javier": "javi",
    "pilar": "pili",
    "teresa": "tere",
    # German
    "josef": "sepp seppl seppi jupp",
    "johannes": "hans hansi hannes johann joop",
    "friedrich": "fritz fiete",
    "franz": "franzl",
    "karl": "kalle karli carl",
    "ludwig": "lutz",
    "sebastian": "basti wastl bastian",
    "florian": "flo",
    "stefanie": "steffi",
    "katharina": "kathi kathe",
    "margarete": "gretel grete gretchen margarethe greta",
    "elisabeth": "liesel lieschen liese lisbeth sissi sisi babette",
    "ursula": "uschi",
    "johanna": "hanne hanni",
    "theresia": "resi resl",
    "heinrich": "heinz hein heini",
    "wolfgang": "wolfi",
    "ferdinand": "ferdl ferdi",
    "matthias": "matze hias",
    "andreas": "anderl",
    "georg": "schorsch",
    "wilhelm": "willi",
    "rudolf": "rudi",
    # French
    "jean": "jeannot",
    "pierre": "pierrot",
    "marguerite": "margot",
    "isabelle": "zabou",
    "francoise": "fanfan",
    "andre": "dede",
    "nicolas": "nico",
    # Italian
    "giuseppe": "beppe peppe peppino pino bepi beppo",
    "giovanni": "gianni nanni vanni",
    "alessandro": "sandro",
    "luigi": "gigi",
    "salvatore": "toto turi",
    "filippo": "pippo",
    "francesco": "cecco checco ciccio",
    "emanuele": "lele",
    "beatrice": "bice",
    "giuseppina": "peppina giusy",
    "domenico": "mimmo",
    "raffaele": "lello",
    "gaetano": "tano",
    # Dutch
    "pieter": "piet",
    "cornelis": "kees cor",
    "hendrik": "henk",
    "nicolaas": "klaas",
    "willem": "wim",
    "justus": "joost",
    "jacobus": "koos sjaak",
    "maria": "ria",
    "wilhelmina": "mien",
    "geertruida": "truus",
    "adrianus": "arie aad",
    "marinus": "rinus",
    "antonius": "toon",
    # Polish
    "katarzyna": "kasia",
    "malgorzata": "gosia malgosia",
    "anna": "ania",
    "magdalena": "magda",
    "tomasz": "tomek",
    "jakub": "kuba",
    "bartlomiej": "bartek",
    "wojciech": "wojtek",
    "stanislaw": "staszek stas",
    "zbigniew": "zbyszek",
    "krzysztof": "krzysiek",
    "jerzy": "jurek",
    "grzegorz": "grzesiek",
    "piotr": "piotrek",
    # Nordic
    "lars": "lasse",
    "nils": "nisse",
    "per": "pelle",
    "olof": "olle",
    "susanna": "sanna",
}


def _invert(groups: dict[str, str]) -> dict[str, str]:
    """Turn canonical -> nicknames into nickname -> canonical, refusing a nickname twice."""
    table: dict[str, str] = {}
    for canonical, nicks in groups.items():
        for nick in nicks.split():
            if nick in table or nick in groups:
                raise ValueError(f"nickname {nick!r} is listed twice or is a canonical name")
            table[nick] = canonical
    return table


NICKNAMES: dict[str, str] = _invert(_GROUPS)
"""Folded nickname or spelling variant -> folded canonical first name."""

_MORE_FIRST_NAMES = """
aaron adam adrian agnes aidan alan alberto alejandra alejandro alexander alexandra alexis alice
alicia alison amelia amy ana andrea andres angel angelica anita annette antoine antonia april
ariana arnaud audrey aurelie austin ava barry beatriz belen benoit bernard bernardo bertrand
beverly bianca blanca brandon brenda brian brigitte brittany bruce bruno bryan caitlin camila
camille carla carlos carmen carol carolina cecile celia cesar chantal charlotte chiara chloe
christian christina christine christophe cindy claire clara claude claudia colin cristina
cristian dagmar daniela danielle dario denis denise diana diane diego dieter dirk dolors
dominique doris edgar edith eduard elena elias elisa ella ellen emil emilia emilio emily emma
emmanuel eric erik erika ernesto ernst esther ethan eva evelyn fabian fabienne fabio felipe
felix fernanda flavia florence francesca francis francois frank franziska gabriela gabriele
gabrielle gary genevieve george gerhard gilbert gilles giorgio giulia giulio gloria grace
guido gunter gustavo hannah harald heather heidi helen helena helga helmut herbert hugo ian
ines ingrid irene iris isaac isabella ivan jacqueline jacques jaime jana janet janine jasmine
javier jean jeanne jeremy jerome jessica joan joel jordan jorge josephine joyce juan juana
julia julian juliana julie julien julio jurgen justin karen karin karina kevin kyle laura
lauren laurent lea leo leon leonardo leonie lena lorenzo louis louise lucas lucia luciano
lucie luis luisa lukas luke luz lydia magali manon manuela marc marcel marcela marco marcos
margarita maria mariana marie marina mario marion marisol mark marta martha martin martina
mateo mathieu mathilde matteo maurice mauricio maximilian megan melanie michel michele
michelle miguel milan miriam monica monika nadia nadine natalia natalie nathalie nathan
nicole noah nora norma olga oliver olivia oscar pablo pamela paola pascal pascale patricia
patrick paul paula pauline pedro philippe pilar rachel ramona raquel raul rene renate ricardo
rita roberta roberto rocio rodrigo roland rolf roman rosa rosa rose ruben ruth sabine sabrina
samuel sandra sara sean sebastien sergio shannon sharon shirley silvia simon simone sofia
sonia sophie stefan stefano stephane susana sven sylvie tamara tanja teresa thierry thomas
tobias tyler ulrich ursula uwe valentina valeria valerie vanessa vera veronica veronique
vincenzo virginie walter wendy werner xavier yolanda yvonne zoe
aisha ahmed ali amir fatima hassan hussein ibrahim karim khalid layla mohamed mohammed
muhammad mustafa omar rashid samir tariq yasmin youssef yusuf abdullah abdul hamza nour
aoife ciara conor declan eoin fergus finn niamh oisin padraig roisin seamus sinead siobhan
alasdair angus callum eilidh fiona hamish iain isla kirsty lachlan morag murdo rory shona
anders astrid bjorn elin erik freja gunnar hanna helge ingrid jens jonas jorgen kari kristian
kristin lars lena linnea magnus mats mikael morten nils ola ole oskar rasmus sigrid solveig
stig tor tove ulf
agata agnieszka andrzej beata dorota ewa grazyna halina irena jadwiga janina jolanta kamil
kinga krystyna lukasz marek mariusz marzena michal pawel przemyslaw renata slawomir sylwia
tadeusz teresa urszula wanda wieslaw zofia
bart bas daan dirk femke floor gerrit hanneke inge jeroen joris jorrit lieke loes maarten
marieke marijke mark niels pim ruud sanne sjoerd stijn thijs wouter
alessia angelo antonella carlo cesare daniele davide elisa enrico fabrizio federica
francesca gianluca giacomo giorgia lorenza loredana luca marcello massimo mattia maurizio
mirko nicola paolo pietro riccardo rocco serena sergio silvio simona stefania tiziana
ugo valerio vittoria vittorio
lee kelly morgan taylor ryan quinn ross scott carter parker cooper bailey brooke hunter mason
logan dylan evan jackson wyatt spencer marshall howard dean wayne craig curtis dale glenn
grant gordon wallace kennedy riley madison harper avery sydney casey jamie leslie shelby
""".split()

FIRST_NAMES: frozenset[str] = frozenset(_MORE_FIRST_NAMES) | set(NICKNAMES) | set(_GROUPS)
"""Folded first names common across English, Spanish, German, French, Italian, Dutch and more."""

_HISPANIC_SURNAMES = """
garcia rodriguez gonzalez fernandez lopez martinez sanchez perez gomez jimenez ruiz
hernandez diaz moreno munoz alvarez romero alonso gutierrez navarro torres dominguez vazquez
ramos gil ramirez serrano blanco molina morales suarez ortega delgado castro ortiz rubio marin
sanz nunez iglesias medina garrido cortes castillo lozano guerrero cano prieto mendez calvo
gallego vidal marquez herrera pena flores cabrera campos vega fuentes carrasco diez caballero
nieto aguilar pascual santana herrero montero hidalgo gimenez ibanez ferrer duran benitez
carmona crespo soto saez velasco moya soler parra bravo gallardo rojas chavez mendoza
silva oliveira souza sousa pereira costa ferreira alves rodrigues lima gomes ribeiro carvalho
almeida lopes martins araujo barbosa rocha dias nascimento moreira cardoso teixeira correia
mendes pinto cunha
""".split()

HISPANIC_SURNAMES: frozenset[str] = frozenset(_HISPANIC_SURNAMES)
"""Spanish and Portuguese surnames: a second one after the given name starts the surnames."""

_OTHER_SURNAMES = """
smith johnson williams brown jones miller davis wilson anderson taylor moore jackson lee
thompson white harris clark lewis robinson walker young allen king wright scott hill green
adams nelson baker hall campbell carter roberts phillips evans turner parker edwards collins
stewart morris murphy cook rogers cooper peterson bailey reed howard cox ward richardson
watson brooks wood bennett gray hughes price sanders patel myers long ross foster
muller mueller schmidt schneider fischer weber meyer wagner becker schulz hoffmann schafer
koch bauer richter klein wolf schroder neumann schwarz zimmermann braun kruger hofmann
hartmann lange schmitt schmitz krause meier lehmann schmid schulze maier kohler herrmann
konig mayer huber kaiser fuchs peters lang scholz moller weiss hahn schubert vogel keller
gunther berger winkler roth beck lorenz baumann franke albrecht schuster bohm kraus
schumacher kramer vogt stein jager sommer gross seidel brandt haas schreiber graf schulte
ziegler kuhn pohl engel horn busch bergmann voigt sauer wolff pfeiffer
bernard dubois petit durand leroy moreau laurent lefebvre bertrand roux fournier morel
girard lefevre mercier dupont lambert bonnet legrand garnier faure rousseau blanc guerin
roussel perrin morin clement gauthier dumont fontaine chevalier
rossi russo ferrari esposito bianchi romano colombo ricci marino greco gallo conti deluca
mancini giordano rizzo lombardi moretti barbieri fontana santoro mariani rinaldi caruso
ferrara galli martini longo gentile martinelli vitale lombardo serra coppola desantis
dangelo marchetti parisi villa ferraro ferri fabbri bianco marini grasso valentini messina
deangelis gatti pellegrini palumbo sanna farina rizzi monti cattaneo morelli amato
silvestri mazza grassi pellegrino carbone giuliani benedetti barone rossetti caputo
montanari guerra palmieri bernardi fiore derosa ferretti bellini basile donati piras
dejong jansen devries vandenberg vandijk bakker janssen visser smit meijer deboer mulder
degroot bos vos hendriks vanleeuwen dekker brouwer dewit dijkstra smits degraaf vandermeer
kok jacobs dehaan vermeulen vandenheuvel vanderveen debruijn schouten vanbeek willems
vanvliet hoekstra verhoeven koster vandam prins blom huisman peeters maes claes goossens
wouters
nowak kowalski wisniewski wojcik kowalczyk kaminski lewandowski zielinski szymanski wozniak
dabrowski kozlowski jankowski mazur kwiatkowski krawczyk piotrowski grabowski nowakowski
pawlowski michalski nowicki adamczyk dudek zajac wieczorek jablonski krol majewski
olszewski jaworski wrobel malinowski pawlak witkowski walczak sikora ostrowski baran duda
hansen johansen olsen larsen andersen pedersen nilsen kristiansen jensen karlsen johnsen
pettersen eriksen haugen hagen jacobsen dahl jorgensen halvorsen henriksen lund sorensen
johansson andersson karlsson nilsson eriksson larsson olsson persson svensson gustafsson
pettersson jonsson jansson hansson lindberg lindstrom lindqvist lindgren berglund lundberg
korhonen virtanen makinen nieminen makela hamalainen laine heikkinen koskinen jarvinen
kelly osullivan walsh obrien byrne ryan oconnor oneill oneil oreilly doyle mccarthy
gallagher odoherty kennedy lynch murray quinn mcloughlin connolly daly brennan burke
fitzgerald maguire nolan flynn callaghan boyle macdonald macleod mackenzie maclean
macgregor mackay macintyre fraser robertson reid paterson morrison
haddad khoury mansour nasser saleh qureshi khan hussain rahman chaudhry
nguyen tran pham hoang huynh phan dang bui ngo duong
wang zhang liu chen yang huang zhao zhou sun zhu guo lin luo zheng liang xie tang
kim park choi kang cho yoon jang
sato suzuki takahashi tanaka watanabe ito yamamoto nakamura kobayashi kato yoshida yamada
""".split()

SURNAMES: frozenset[str] = frozenset(_OTHER_SURNAMES) | HISPANIC_SURNAMES
"""Folded common surnames; the ones that are not also first names show a swapped name."""

"""Generate multi-source CRM contact data with ground truth, for identity-resolution benchmarks.

    python benchmarks/generate_crm.py --people 20000 --seed 7 --out benchmarks/out/crm_20000_7

One population of people (United States, United Kingdom, Germany, France, Spain) shows up in
six exports, each with the header of the system it came from, so `rolodex import` maps them
without help: a HubSpot contacts export, a Salesforce contacts report, a Shopify customers
export, a Mailchimp audience, Zendesk users (one full-name field) and a hand-made German
trade-fair sheet (semicolons, cp1252, German headers). `truth.csv` says which person each row
is (source, external_id, person_id).

The mess is the mess real exports have, because a resolver that only meets clean data proves
nothing: duplicates inside and across sources, 1-2 character typos, nicknames per language
(Bob/Robert, Sepp/Josef, Paco/Francisco), swapped first and last names and "Last, First",
case and whitespace noise, phones in each country's formats with and without the country
code, Gmail dots and +tags, work and personal addresses of one person, married names (new
last name, same email and phone), moved addresses, company legal-form variants (Acme Inc /
ACME, Inc. / Acme Incorporated; Müller GmbH / Mueller GmbH), missing fields.

And the hard negatives that make resolvers over-merge: strangers with the same name in the
same city, household members sharing an address and a landline (and sometimes a family
mailbox), colleagues sharing a role mailbox (info@, sales@) and the company's main number.

People are drawn in chunks, each from its own seeded generator, and each chunk's rows are
shuffled and written before the next chunk is drawn, so the same seed gives the same files and
memory grows only with the sets that keep email addresses and company names unique.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import random
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any, TextIO

__all__ = ["SOURCES", "SourceFile", "generate"]

CHUNK = 1_000  # people drawn, shuffled and written together


# =============================================================================================
# The files
# =============================================================================================


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One generated export: its source name, file, header, and what its columns hold.

    `evidence` names the columns that carry each kind of identifying value (email, phone,
    first_name, last_name, full_name, postcode), for scripts that read the files back.
    """

    name: str
    file: str
    header: tuple[str, ...]
    id_column: str
    evidence: Mapping[str, tuple[str, ...]]
    delimiter: str = ","
    encoding: str = "utf-8"


def _cols(text: str, sep: str = ",") -> tuple[str, ...]:
    return tuple(c.strip() for c in text.split(sep))


HUBSPOT = SourceFile(
    "hubspot",
    "hubspot_contacts.csv",
    _cols(
        "Record ID,First Name,Last Name,Email,Phone Number,Mobile Phone Number,Company Name,"
        "Job Title,Street Address,City,State/Region,Postal Code,Country/Region,Lifecycle Stage,"
        "Create Date"
    ),
    "Record ID",
    {
        "email": ("Email",),
        "phone": ("Phone Number", "Mobile Phone Number"),
        "first_name": ("First Name",),
        "last_name": ("Last Name",),
        "postcode": ("Postal Code",),
    },
)
SALESFORCE = SourceFile(
    "salesforce",
    "salesforce_contacts.csv",
    _cols(
        "Id,Salutation,FirstName,LastName,Title,Account Name,Email,Phone,MobilePhone,"
        "MailingStreet,MailingCity,MailingState,MailingPostalCode,MailingCountry,Birthdate,"
        "LeadSource,CreatedDate"
    ),
    "Id",
    {
        "email": ("Email",),
        "phone": ("Phone", "MobilePhone"),
        "first_name": ("FirstName",),
        "last_name": ("LastName",),
        "postcode": ("MailingPostalCode",),
    },
)
SHOPIFY = SourceFile(
    "shopify",
    "shopify_customers.csv",
    _cols(
        "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Default Address Company,"
        "Default Address Address1,Default Address Address2,Default Address City,"
        "Default Address Province Code,Default Address Country Code,Default Address Zip,"
        "Default Address Phone,Phone,Accepts SMS Marketing,Total Spent,Total Orders,Note,"
        "Tax Exempt,Tags"
    ),
    "Customer ID",
    {
        "email": ("Email",),
        "phone": ("Phone", "Default Address Phone"),
        "first_name": ("First Name",),
        "last_name": ("Last Name",),
        "postcode": ("Default Address Zip",),
    },
)
MAILCHIMP = SourceFile(
    "mailchimp",
    "mailchimp_audience.csv",
    _cols("Email Address,First Name,Last Name,MEMBER_RATING,OPTIN_TIME,TAGS,Subscriber ID"),
    "Subscriber ID",
    {"email": ("Email Address",), "first_name": ("First Name",), "last_name": ("Last Name",)},
)
ZENDESK = SourceFile(
    "zendesk",
    "zendesk_users.csv",
    _cols("id,name,email,phone,organization,role,locale,time_zone,created_at"),
    "id",
    {"email": ("email",), "phone": ("phone",), "full_name": ("name",)},
)
MESSE = SourceFile(
    "messe",
    "messe_besucher.csv",
    _cols("Kundennr;Anrede;Vorname;Nachname;Firma;E-Mail;Telefon;Straße;PLZ;Ort;Land;Notiz", ";"),
    "Kundennr",
    {
        "email": ("E-Mail",),
        "phone": ("Telefon",),
        "first_name": ("Vorname",),
        "last_name": ("Nachname",),
        "postcode": ("PLZ",),
    },
    delimiter=";",
    encoding="cp1252",  # saved from German Excel
)
SOURCES: tuple[SourceFile, ...] = (HUBSPOT, SALESFORCE, SHOPIFY, MAILCHIMP, ZENDESK, MESSE)
TRUTH_FILE = "truth.csv"


# =============================================================================================
# Vocabulary
# =============================================================================================


def _items(text: str, sep: str = ",") -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(sep) if item.strip())


@dataclass(frozen=True, slots=True)
class City:
    """A city: its names, region, postcode pattern and landline area codes."""

    name: str
    exonym: str  # what English-language tools write, or the name again
    german: str  # what a German sheet writes
    region: str
    postcodes: tuple[str, ...]  # templates: '#' is a digit, '@' a letter
    areas: tuple[str, ...]  # landline area codes (national significant number prefixes)


def _cities(table: str) -> tuple[City, ...]:
    out = []
    for line in table.strip().splitlines():
        name, exonym, german, region, postcodes, areas = (c.strip() for c in line.split("|"))
        out.append(
            City(
                name,
                exonym or name,
                german or name,
                region,
                _items(postcodes),
                _items(areas),
            )
        )
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Country:
    """What people, addresses, phones and companies look like in one country."""

    code: str
    weight: int
    spellings: tuple[str, ...]  # how English-language exports write it, most common first
    german: str
    calling_code: str
    female: tuple[str, ...]  # most common first
    male: tuple[str, ...]
    last: tuple[str, ...]
    streets: tuple[str, ...]
    cities: tuple[City, ...]
    mail_domains: tuple[tuple[str, int], ...]
    tld: str
    legal_forms: tuple[str, ...]
    sectors: tuple[str, ...]
    role_boxes: tuple[str, ...]
    locale: str
    time_zone: str
    mobile: Callable[[random.Random], str]  # national significant number of a mobile
    landline_length: int  # digits of a landline's national significant number


def _digits(rng: random.Random, n: int, first: str = "23456789") -> str:
    return rng.choice(first) + "".join(rng.choice("0123456789") for _ in range(n - 1))


def _us_mobile(rng: random.Random) -> str:
    return rng.choice(("917", "646", "415", "312", "206", "512", "305", "617")) + _digits(rng, 7)


def _gb_mobile(rng: random.Random) -> str:
    return "7" + rng.choice("45789") + _digits(rng, 8, "0123456789")


def _de_mobile(rng: random.Random) -> str:
    prefix = rng.choice(("151", "152", "157", "160", "170", "171", "172", "175", "176", "179"))
    return prefix + _digits(rng, 8 if prefix in ("151", "152", "157", "176", "179") else 7)


def _fr_mobile(rng: random.Random) -> str:
    return rng.choice(("6" + rng.choice("0124578"), "7" + rng.choice("3456789"))) + _digits(
        rng, 7, "0123456789"
    )


def _es_mobile(rng: random.Random) -> str:
    return "6" + _digits(rng, 8, "0123456789")


COUNTRIES: dict[str, Country] = {
    "US": Country(
        code="US",
        weight=30,
        spellings=_items("United States, USA, US, United States of America, U.S."),
        german="USA",
        calling_code="1",
        female=_items(
            "Mary, Patricia, Jennifer, Linda, Elizabeth, Barbara, Susan, Jessica, Sarah, Karen, "
            "Lisa, Nancy, Betty, Margaret, Sandra, Ashley, Kimberly, Emily, Donna, Michelle, "
            "Carol, Amanda, Dorothy, Melissa, Deborah, Stephanie, Rebecca, Sharon, Laura, "
            "Cynthia, Kathleen, Amy, Angela, Shirley, Anna, Brenda, Pamela, Emma, Nicole, Helen, "
            "Samantha, Katherine, Christine, Rachel, Carolyn, Janet, Catherine, Maria, Heather, "
            "Diane, Julie, Olivia, Joyce, Victoria, Kelly, Lauren, Christina, Abigail, Megan"
        ),
        male=_items(
            "James, Robert, John, Michael, David, William, Richard, Joseph, Thomas, Christopher, "
            "Charles, Daniel, Matthew, Anthony, Mark, Donald, Steven, Paul, Andrew, Joshua, "
            "Kenneth, Kevin, Brian, George, Timothy, Ronald, Edward, Jason, Jeffrey, Ryan, "
            "Jacob, Gary, Nicholas, Eric, Jonathan, Stephen, Larry, Justin, Scott, Brandon, "
            "Benjamin, Samuel, Gregory, Alexander, Frank, Patrick, Raymond, Jack, Dennis, Tyler, "
            "Aaron, Adam, Nathan, Henry, Douglas, Zachary, Peter, Kyle"
        ),
        last=_items(
            "Smith, Johnson, Williams, Brown, Jones, Garcia, Miller, Davis, Rodriguez, Martinez, "
            "Hernandez, Lopez, Gonzalez, Wilson, Anderson, Thomas, Taylor, Moore, Jackson, "
            "Martin, Lee, Perez, Thompson, White, Harris, Sanchez, Clark, Ramirez, Lewis, "
            "Robinson, Walker, Young, Allen, King, Wright, Scott, Torres, Nguyen, Hill, Flores, "
            "Green, Adams, Nelson, Baker, Hall, Rivera, Campbell, Mitchell, Carter, Roberts, "
            "Gomez, Phillips, Evans, Turner, Diaz, Parker, Cruz, Edwards, Collins, Reyes, "
            "Stewart, Morris, Morales, Murphy, Cook, Rogers, Gutierrez, Ortiz, Morgan, Cooper, "
            "Peterson, Bailey, Reed, Kelly, Howard, Ramos, Kim, Cox, Ward, Richardson, Watson, "
            "Brooks, Chavez, Wood, James, Bennett, Gray, Mendoza, Ruiz, Hughes, Price, Alvarez, "
            "Castillo, Sanders, Patel, Myers, Long, Ross, Foster, O'Brien, McDonald, O'Neil, "
            "Sullivan, Kowalski, Schneider, Nowak"
        ),
        streets=_items(
            "Main Street, Oak Avenue, Maple Avenue, Elm Street, Washington Boulevard, "
            "Park Avenue, Pine Street, Cedar Lane, Lake Shore Drive, Sunset Boulevard, Broadway, "
            "Market Street, Mission Street, Jefferson Road, Lincoln Avenue, Highland Avenue, "
            "Church Street, 2nd Street, 3rd Avenue, Chestnut Street, Walnut Street, "
            "Spring Street, River Road, Hillside Drive, Madison Avenue, Franklin Street, "
            "Willow Way, Sycamore Court, Ridge Road, Forest Drive"
        ),
        cities=_cities("""
            New York      |        |          | NY | 100##, 101##        | 212, 646, 718
            Brooklyn      |        |          | NY | 112##               | 718, 347
            Boston        |        |          | MA | 021##               | 617, 857
            Chicago       |        |          | IL | 606##               | 312, 773
            Austin        |        |          | TX | 787##               | 512, 737
            Denver        |        |          | CO | 802##               | 303, 720
            Seattle       |        |          | WA | 981##               | 206
            San Francisco |        |          | CA | 941##               | 415, 628
            Los Angeles   |        |          | CA | 900##, 910##        | 213, 323, 310
            Miami         |        |          | FL | 331##               | 305, 786
            Houston       |        |          | TX | 770##               | 713, 832
            Philadelphia  |        |          | PA | 191##               | 215, 267
            Atlanta       |        |          | GA | 303##               | 404, 678
            Portland      |        |          | OR | 972##               | 503, 971
            Phoenix       |        |          | AZ | 850##               | 602, 480
        """),
        mail_domains=(
            ("gmail.com", 45),
            ("yahoo.com", 14),
            ("outlook.com", 10),
            ("hotmail.com", 8),
            ("icloud.com", 10),
            ("aol.com", 5),
            ("comcast.net", 4),
        ),
        tld=".com",
        legal_forms=_items("Inc., LLC, Corp., Inc., Co."),
        sectors=_items(
            "Analytics, Logistics, Software, Consulting, Foods, Systems, Solutions, Media, Labs, "
            "Partners, Trading, Design, Energy, Health, Capital, Robotics, Outfitters, Supply"
        ),
        role_boxes=_items("info, sales, office, hello, contact"),
        locale="en-US",
        time_zone="Eastern Time (US & Canada)",
        mobile=_us_mobile,
        landline_length=10,
    ),
    "GB": Country(
        code="GB",
        weight=20,
        spellings=_items("United Kingdom, UK, GB, Great Britain, England, U.K."),
        german="Großbritannien",
        calling_code="44",
        female=_items(
            "Olivia, Amelia, Isla, Ava, Emily, Sophie, Grace, Mia, Poppy, Ella, Lily, Evie, "
            "Isabella, Charlotte, Jessica, Chloe, Lucy, Hannah, Sarah, Emma, Rebecca, Laura, "
            "Rachel, Claire, Helen, Katherine, Elizabeth, Margaret, Susan, Alison, Joanne, "
            "Nicola, Victoria, Siobhan, Niamh, Fiona, Gemma, Kirsty, Zoë, Eleanor, Abigail, "
            "Harriet"
        ),
        male=_items(
            "Oliver, George, Harry, Jack, Jacob, Charlie, Thomas, James, William, Joshua, "
            "Daniel, Samuel, Alexander, Edward, Henry, Joseph, Matthew, Benjamin, Luke, Adam, "
            "Ryan, Callum, Lewis, Rhys, Ewan, Liam, Connor, Andrew, David, Richard, Robert, "
            "Michael, Christopher, Mark, Paul, Stephen, Peter, Simon, Ian, Gareth, Mohammed, Ali"
        ),
        last=_items(
            "Smith, Jones, Williams, Taylor, Brown, Davies, Evans, Wilson, Thomas, Johnson, "
            "Roberts, Robinson, Thompson, Wright, Walker, White, Edwards, Hughes, Green, Hall, "
            "Lewis, Harris, Clarke, Patel, Jackson, Wood, Turner, Martin, Cooper, Hill, Ward, "
            "Morris, Moore, Clark, Lee, King, Baker, Harrison, Morgan, Allen, James, Scott, "
            "Phillips, Watson, Davis, Parker, Price, Bennett, Young, Griffiths, Mitchell, Kelly, "
            "Cook, Carter, Richardson, Bailey, Collins, Bell, Shaw, Murphy, Miller, Cox, "
            "Richards, Khan, Marshall, Anderson, Simpson, Ellis, Adams, Singh, Begum, Wilkinson, "
            "Foster, Chapman, Powell, Webb, Rogers, Gray, Mason, Ali, Hunt, Hussain, Campbell, "
            "Matthews, Owen, Palmer, Holmes, Mills, Barnes, Knight, Lloyd, Butler, Russell, "
            "Barker, Fisher, Stevens, Jenkins, MacLeod, McDonald, O'Neill, Fitzgerald"
        ),
        streets=_items(
            "High Street, Station Road, Church Lane, Victoria Road, Park Road, Green Lane, "
            "Manor Road, Church Street, Park Avenue, Queens Road, Kings Road, The Crescent, "
            "Grange Road, Mill Lane, New Road, London Road, Albert Road, York Road, "
            "Springfield Road, St John's Road, Baker Street, Chapel Street, North Street, "
            "Windsor Road, Highfield Road"
        ),
        cities=_cities("""
            London              |  |  | LND | SW1A, SW3, SE1, E1, EC1V, N1, NW1, W1D, E14 | 20
            Manchester          |  |  | MAN | M1, M4, M14, M20                            | 161
            Birmingham          |  |  | BIR | B1, B5, B15, B29                            | 121
            Leeds               |  |  | LDS | LS1, LS6, LS11                              | 113
            Edinburgh           |  |  | EDH | EH1, EH3, EH10                              | 131
            Glasgow             |  |  | GLG | G1, G3, G12                                 | 141
            Bristol             |  |  | BST | BS1, BS6, BS8                               | 117
            Cardiff             |  |  | CRF | CF10, CF11, CF24                            | 29
            Liverpool           |  |  | LIV | L1, L8, L17                                 | 151
            Newcastle upon Tyne |  |  | NET | NE1, NE2, NE6                               | 191
            Sheffield           |  |  | SHF | S1, S10, S11                                | 114
        """),
        mail_domains=(
            ("gmail.com", 40),
            ("hotmail.co.uk", 15),
            ("yahoo.co.uk", 10),
            ("btinternet.com", 10),
            ("outlook.com", 10),
            ("sky.com", 5),
            ("icloud.com", 5),
        ),
        tld=".co.uk",
        legal_forms=_items("Ltd, Ltd, plc, LLP"),
        sectors=_items(
            "Logistics, Software, Consulting, Foods, Systems, Media, Partners, Trading, Design, "
            "Energy, Health, Capital, Bakers, Engineering, Interiors, Estates"
        ),
        role_boxes=_items("info, sales, enquiries, office, hello"),
        locale="en-GB",
        time_zone="London",
        mobile=_gb_mobile,
        landline_length=10,
    ),
    "DE": Country(
        code="DE",
        weight=25,
        spellings=_items("Germany, Deutschland, DE, GER, germany"),
        german="Deutschland",
        calling_code="49",
        female=_items(
            "Ursula, Monika, Petra, Sabine, Renate, Helga, Karin, Brigitte, Ingrid, Gabriele, "
            "Susanne, Andrea, Claudia, Stefanie, Birgit, Nicole, Katharina, Anja, Julia, "
            "Christina, Sandra, Martina, Anna, Laura, Lena, Sarah, Lisa, Jana, Katrin, "
            "Elisabeth, Franziska, Johanna, Barbara, Heike, Silke, Tanja, Melanie, Sophie, "
            "Marie, Hannah, Lea, Dörte, Käthe"
        ),
        male=_items(
            "Peter, Wolfgang, Michael, Klaus, Thomas, Jürgen, Andreas, Stefan, Hans, Werner, "
            "Uwe, Frank, Christian, Bernd, Matthias, Markus, Alexander, Martin, Dieter, Günther, "
            "Jörg, Ralf, Sebastian, Daniel, Tobias, Jan, Florian, Maximilian, Lukas, Felix, "
            "Johannes, Josef, Heinrich, Friedrich, Karl-Heinz, Hans-Peter, Björn, Horst, "
            "Manfred, Helmut, Dirk, Sven, Tim, Philipp, Moritz, Niklas"
        ),
        last=_items(
            "Müller, Schmidt, Schneider, Fischer, Weber, Meyer, Wagner, Becker, Schulz, "
            "Hoffmann, Schäfer, Koch, Bauer, Richter, Klein, Wolf, Schröder, Neumann, Schwarz, "
            "Zimmermann, Braun, Krüger, Hofmann, Hartmann, Lange, Schmitt, Werner, Schmitz, "
            "Krause, Meier, Lehmann, Schmid, Schulze, Maier, Köhler, Herrmann, König, Walter, "
            "Mayer, Huber, Kaiser, Fuchs, Peters, Lang, Scholz, Möller, Weiß, Jung, Hahn, "
            "Schubert, Vogel, Friedrich, Keller, Günther, Frank, Berger, Winkler, Roth, Beck, "
            "Lorenz, Baumann, Franke, Albrecht, Schuster, Simon, Ludwig, Böhm, Winter, Kraus, "
            "Martin, Schumacher, Krämer, Vogt, Stein, Jäger, Otto, Sommer, Groß, Seidel, "
            "Heinrich, Brandt, Haas, Schreiber, Graf, Schulte, Dietrich, Ziegler, Kuhn, Kühn, "
            "Pohl, Engel, Horn, Busch, Bergmann, Thomas, Voigt, Sauer, Arnold, Wolff, Pfeiffer, "
            "Yilmaz, Öztürk, Kowalski, von Bülow"
        ),
        streets=_items(
            "Hauptstraße, Schulstraße, Gartenstraße, Bahnhofstraße, Dorfstraße, Bergstraße, "
            "Birkenweg, Lindenstraße, Kirchstraße, Waldstraße, Ringstraße, Schillerstraße, "
            "Goethestraße, Jahnstraße, Mühlenweg, Am Markt, Friedrichstraße, Königsallee, "
            "Kurfürstendamm, Schloßstraße, Rosenweg, Wiesenweg, Parkstraße, Poststraße, "
            "Feldstraße, Amselweg, Beethovenstraße, Mozartstraße, Uhlandstraße, Talstraße"
        ),
        cities=_cities("""
            Berlin            |            |  | BE | 10###, 12###, 13### | 30
            Hamburg           |            |  | HH | 20###, 22###        | 40
            München           | Munich     |  | BY | 80###, 81###        | 89
            Köln              | Cologne    |  | NW | 50###, 51###        | 221
            Frankfurt am Main | Frankfurt  |  | HE | 60###               | 69
            Stuttgart         |            |  | BW | 70###               | 711
            Düsseldorf        | Dusseldorf |  | NW | 40###               | 211
            Leipzig           |            |  | SN | 04###               | 341
            Dresden           |            |  | SN | 01###               | 351
            Nürnberg          | Nuremberg  |  | BY | 90###               | 911
            Hannover          | Hanover    |  | NI | 30###               | 511
            Bremen            |            |  | HB | 28###               | 421
            Essen             |            |  | NW | 45###               | 201
            Dortmund          |            |  | NW | 44###               | 231
        """),
        mail_domains=(
            ("web.de", 25),
            ("gmx.de", 25),
            ("gmail.com", 20),
            ("t-online.de", 12),
            ("gmx.net", 8),
            ("googlemail.com", 5),
            ("outlook.de", 5),
        ),
        tld=".de",
        legal_forms=_items("GmbH, GmbH, GmbH, AG, KG, GmbH & Co. KG, e.K."),
        sectors=_items(
            "Maschinenbau, Logistik, Software, Beratung, Bäckerei, Handel, Elektro, Immobilien, "
            "Holzbau, Druckerei, Metallbau, Versicherungen, Medien, Technik, Bau"
        ),
        role_boxes=_items("info, kontakt, vertrieb, office, service"),
        locale="de",
        time_zone="Berlin",
        mobile=_de_mobile,
        landline_length=10,
    ),
    "FR": Country(
        code="FR",
        weight=12,
        spellings=_items("France, FR, FRANCE, france"),
        german="Frankreich",
        calling_code="33",
        female=_items(
            "Marie, Nathalie, Isabelle, Sylvie, Catherine, Françoise, Valérie, Christine, "
            "Sandrine, Stéphanie, Céline, Sophie, Julie, Aurélie, Émilie, Camille, Léa, Manon, "
            "Chloé, Sarah, Laura, Anne, Martine, Monique, Nicole, Hélène, Véronique, Élisabeth, "
            "Marguerite, Anaïs, Noémie, Océane, Inès, Zoé, Claire, Marie-Claire, Anne-Sophie, "
            "Pauline, Mathilde, Juliette"
        ),
        male=_items(
            "Jean, Pierre, Michel, Philippe, Alain, Nicolas, François, Patrick, Daniel, "
            "Christophe, Stéphane, Laurent, Frédéric, Julien, David, Sébastien, Thomas, "
            "Alexandre, Guillaume, Jérôme, Olivier, Éric, Vincent, Maxime, Antoine, Benoît, "
            "Loïc, Hugo, Lucas, Louis, Jean-Pierre, Jean-Luc, Jean-Baptiste, Dominique, "
            "Mathieu, Romain, Nathan, Théo, Bernard, Christian"
        ),
        last=_items(
            "Martin, Bernard, Thomas, Petit, Robert, Richard, Durand, Dubois, Moreau, Laurent, "
            "Simon, Michel, Lefebvre, Leroy, Roux, David, Bertrand, Morel, Fournier, Girard, "
            "Bonnet, Dupont, Lambert, Fontaine, Rousseau, Vincent, Muller, Lefèvre, Faure, "
            "André, Mercier, Blanc, Guérin, Boyer, Garnier, Chevalier, François, Legrand, "
            "Gauthier, Garcia, Perrin, Robin, Clément, Morin, Nicolas, Henry, Roussel, Mathieu, "
            "Gautier, Masson, Marchand, Duval, Denis, Dumont, Lemaire, Noël, Meyer, Dufour, "
            "Meunier, Brun, Blanchard, Giraud, Joly, Rivière, Lucas, Brunet, Gaillard, Barbier, "
            "Arnaud, Martinez, Gérard, Roche, Renard, Schmitt, Roy, Leroux, Colin, Vidal, Caron, "
            "Picard, Roger, Fabre, Aubert, Lemoine, Renaud, Dumas, Lacroix, Olivier, Bourgeois, "
            "Leclerc, Le Gall, de la Fontaine, d'Arcy"
        ),
        streets=_items(
            "rue de la Paix, avenue Victor Hugo, boulevard Haussmann, rue de la République, "
            "rue Nationale, place de la Mairie, rue du Moulin, rue Pasteur, rue Jean Jaurès, "
            "avenue de la Gare, rue des Écoles, chemin des Vignes, allée des Tilleuls, "
            "impasse des Lilas, rue du Général de Gaulle, quai de la Loire, rue de l'Église, "
            "avenue Foch, rue Saint-Michel, boulevard Voltaire"
        ),
        cities=_cities("""
            Paris         |  |  | IDF | 750##       | 1
            Lyon          |  |  | ARA | 6900#       | 4
            Marseille     |  |  | PAC | 130##       | 4
            Toulouse      |  |  | OCC | 310##       | 5
            Bordeaux      |  |  | NAQ | 330##       | 5
            Lille         |  |  | HDF | 590##       | 3
            Nantes        |  |  | PDL | 440##       | 2
            Strasbourg    |  |  | GES | 670##       | 3
            Nice          |  |  | PAC | 060##       | 4
            Montpellier   |  |  | OCC | 340##       | 4
            Rennes        |  |  | BRE | 350##       | 2
            Saint-Étienne |  |  | ARA | 420##       | 4
        """),
        mail_domains=(
            ("gmail.com", 35),
            ("orange.fr", 20),
            ("free.fr", 12),
            ("hotmail.fr", 12),
            ("laposte.net", 8),
            ("sfr.fr", 8),
            ("wanadoo.fr", 5),
        ),
        tld=".fr",
        legal_forms=_items("SARL, SAS, SAS, SA"),
        sectors=_items(
            "Conseil, Logistique, Informatique, Boulangerie, Transports, Immobilier, "
            "Distribution, Ingénierie, Atelier, Services, Bâtiment, Communication"
        ),
        role_boxes=_items("contact, info, commercial, accueil"),
        locale="fr",
        time_zone="Paris",
        mobile=_fr_mobile,
        landline_length=9,
    ),
    "ES": Country(
        code="ES",
        weight=13,
        spellings=_items("Spain, España, ES, Espana, SPAIN"),
        german="Spanien",
        calling_code="34",
        female=_items(
            "María, Carmen, Ana, Isabel, Laura, Cristina, Marta, Lucía, Elena, Paula, Sara, "
            "Pilar, Dolores, Rosa, Mercedes, Concepción, Montserrat, Raquel, Sofía, Julia, "
            "Beatriz, Patricia, Silvia, Nuria, Rocío, Inés, Alba, Irene, María José, "
            "María Carmen, Ana Belén, Guadalupe, Rosario, Teresa, Alicia, Andrea, Marina, Eva"
        ),
        male=_items(
            "Antonio, José, Manuel, Francisco, David, Juan, Javier, Daniel, Carlos, Jesús, "
            "Alejandro, Miguel, Rafael, Pedro, Pablo, Ángel, Sergio, Fernando, Jorge, Luis, "
            "Alberto, Álvaro, Adrián, Diego, Raúl, Enrique, Ignacio, Santiago, Andrés, Eduardo, "
            "Roberto, Óscar, José Luis, Juan Carlos, José Antonio, Francisco Javier, Jordi, "
            "Xavier"
        ),
        last=_items(
            "García, Rodríguez, González, Fernández, López, Martínez, Sánchez, Pérez, Gómez, "
            "Martín, Jiménez, Ruiz, Hernández, Díaz, Moreno, Muñoz, Álvarez, Romero, Alonso, "
            "Gutiérrez, Navarro, Torres, Domínguez, Vázquez, Ramos, Gil, Ramírez, Serrano, "
            "Blanco, Molina, Morales, Suárez, Ortega, Delgado, Castro, Ortiz, Rubio, Marín, "
            "Sanz, Núñez, Iglesias, Medina, Garrido, Cortés, Castillo, Santos, Lozano, Guerrero, "
            "Cano, Prieto, Méndez, Cruz, Calvo, Gallego, Vidal, León, Márquez, Herrera, Peña, "
            "Flores, Cabrera, Campos, Vega, Fuentes, Carrasco, Diez, Caballero, Reyes, Nieto, "
            "Aguilar, Pascual, Santana, Herrero, Lorenzo, Montero, Hidalgo, Giménez, Ibáñez, "
            "Ferrer, Durán, Benítez, Mora, Vicente, Vargas, Arias, Carmona, Crespo, Román, "
            "Pastor, Soto, Sáez, Velasco, Moya, Soler, Parra, Esteban, Bravo, Gallardo, Rojas, "
            "de la Cruz, del Río"
        ),
        streets=_items(
            "Calle Mayor, Calle Real, Avenida de la Constitución, Calle de Alcalá, Gran Vía, "
            "Paseo de la Castellana, Calle Serrano, Plaza Mayor, Calle Nueva, Calle del Carmen, "
            "Avenida de América, Calle de la Paz, Calle San Juan, Calle del Sol, "
            "Ronda de Valencia, Rambla de Catalunya, Calle de la Princesa, Avenida Diagonal, "
            "Calle de Toledo, Calle de Goya"
        ),
        cities=_cities("""
            Madrid     |         |  | MD | 280##       | 91
            Barcelona  |         |  | CT | 080##       | 93
            Valencia   |         |  | VC | 460##       | 96
            Sevilla    | Seville |  | AN | 410##       | 954, 955
            Zaragoza   |         |  | AR | 500##       | 976
            Málaga     | Malaga  |  | AN | 290##       | 952
            Bilbao     |         |  | PV | 480##       | 94
            Murcia     |         |  | MC | 300##       | 968
            Alicante   |         |  | VC | 030##       | 965
            Córdoba    | Cordoba |  | AN | 140##       | 957
            Valladolid |         |  | CL | 470##       | 983
            A Coruña   |         |  | GA | 150##       | 981
        """),
        mail_domains=(
            ("gmail.com", 45),
            ("hotmail.es", 20),
            ("yahoo.es", 10),
            ("outlook.es", 10),
            ("telefonica.net", 5),
            ("icloud.com", 5),
        ),
        tld=".es",
        legal_forms=_items("S.L., S.L., S.A."),
        sectors=_items(
            "Consultores, Logística, Informática, Construcciones, Distribuciones, Ingeniería, "
            "Transportes, Alimentación, Servicios, Inmobiliaria, Comunicación"
        ),
        role_boxes=_items("info, ventas, contacto, administracion"),
        locale="es",
        time_zone="Madrid",
        mobile=_es_mobile,
        landline_length=9,
    ),
}

# Short forms per language, curated (the reverse of an English list is too loose).
NICKNAMES: dict[str, tuple[str, ...]] = {
    given.strip(): _items(short)
    for given, short in (
        line.split(":")
        for line in """
    Robert: Bob, Rob, Bobby
    William: Bill, Will, Billy
    Elizabeth: Liz, Beth, Lizzie
    Katherine: Kate, Katie
    Catherine: Cathy, Kate
    Margaret: Maggie, Peggy
    Michael: Mike
    James: Jim, Jimmy
    Richard: Rick, Dick
    Thomas: Tom
    Joseph: Joe
    Christopher: Chris
    Daniel: Dan, Danny
    Jennifer: Jen, Jenny
    Patricia: Pat, Trish
    Anthony: Tony
    Edward: Ed, Ted
    Matthew: Matt
    Andrew: Andy, Drew
    Nicholas: Nick
    Samuel: Sam
    Benjamin: Ben
    Alexander: Alex
    Rebecca: Becky
    Victoria: Vicky
    Jessica: Jess
    Susan: Sue
    Deborah: Debbie
    Charles: Charlie, Chuck
    Steven: Steve
    Stephen: Steve
    Timothy: Tim
    Jonathan: Jon
    David: Dave
    Kenneth: Ken
    Gregory: Greg
    Stephanie: Steph
    Abigail: Abby
    Eleanor: Ellie
    Johannes: Hans, Hannes
    Josef: Sepp, Jupp
    Wolfgang: Wolf
    Stefanie: Steffi
    Maximilian: Max
    Christina: Tina
    Susanne: Susi
    Franziska: Franzi
    Elisabeth: Lisa, Sissi
    Andreas: Andi
    Matthias: Matze
    Katharina: Kathi
    Tobias: Tobi
    Gabriele: Gabi
    Friedrich: Fritz
    Heinrich: Heinz
    Alexandre: Alex
    Christophe: Chris
    Frédéric: Fred
    Nicolas: Nico
    Isabelle: Isa
    Philippe: Phil
    Sébastien: Seb
    Véronique: Véro
    Jean-Baptiste: JB
    Valérie: Val
    Francisco: Paco, Curro, Fran
    José: Pepe
    Manuel: Manolo
    Dolores: Lola
    Concepción: Concha
    Enrique: Quique
    Ignacio: Nacho
    Montserrat: Montse
    Antonio: Toni
    Guadalupe: Lupe
    Rosario: Charo
    Mercedes: Merche
    Santiago: Santi
    Rafael: Rafa
    Pilar: Pili
    Javier: Javi
    Francisco Javier: Javier, Javi
    José Luis: Pepe Luis
    """.strip().splitlines()
    )
}

JOB_TITLES = _items(
    "Marketing Manager, Head of Sales, CEO, Founder, Software Engineer, Purchasing Manager, "
    "Office Manager, CFO, Account Executive, Operations Director, Buyer, Data Analyst, "
    "Product Manager, Consultant, Store Manager, Procurement Lead, HR Manager"
)
_BRANDS = _items(
    "Acme, Globex, Initech, Umbrella, Northwind, Contoso, Fabrikam, Tailspin, Blue Ridge, "
    "Pinecone, Brightwave, Redwood, Silverline, Ironbridge, Greenfield, Summit, Harbor, "
    "Lighthouse, Keystone, Evergreen, Falcon, Orion, Atlas, Nova, Vertex, Pioneer, Horizon, "
    "Crescent, Aurora, Bluebird, Cobalt, Copperleaf, Driftwood, Emerald, Fjord, Granite, "
    "Hawthorn, Juniper, Kestrel, Lumen, Meridian, Nimbus, Oakridge, Polaris, Quarry, Riverside, "
    "Sapphire, Tidewater, Upland, Vantage, Westwind, Yellowstone, Zenith, Alder, Beacon, Cedar, "
    "Delta, Ember, Foxglove, Glacier"
)
# Legal-form spellings that mean the same thing, as people type them.
LEGAL_VARIANTS: dict[str, tuple[str, ...]] = {
    "Inc.": ("Inc.", "Inc", ", Inc.", "Incorporated", ""),
    "LLC": ("LLC", "L.L.C.", ", LLC", ""),
    "Corp.": ("Corp.", "Corporation", "Corp", ""),
    "Co.": ("Co.", "Company", "& Co.", ""),
    "Ltd": ("Ltd", "Ltd.", "Limited", "LTD", ""),
    "plc": ("plc", "PLC", "Public Limited Company", ""),
    "LLP": ("LLP", "L.L.P.", ""),
    "GmbH": ("GmbH", "Gmbh", "GMBH", "G.m.b.H.", ""),
    "AG": ("AG", "Aktiengesellschaft", ""),
    "KG": ("KG", "Kommanditgesellschaft", ""),
    "GmbH & Co. KG": ("GmbH & Co. KG", "GmbH & Co KG", "GmbH u. Co. KG", ""),
    "e.K.": ("e.K.", "e. K.", ""),
    "SARL": ("SARL", "S.A.R.L.", "Sarl", ""),
    "SAS": ("SAS", "S.A.S.", ""),
    "SA": ("SA", "S.A.", ""),
    "S.L.": ("S.L.", "SL", ", S.L.", "Sociedad Limitada", ""),
    "S.A.": ("S.A.", "SA", ", S.A.", "Sociedad Anónima", ""),
}
# Street-type abbreviations: the same street written two ways.
STREET_ABBREVIATIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Street", ("St", "St.")),
    ("Avenue", ("Ave", "Ave.", "Av.")),
    ("Boulevard", ("Blvd", "Blvd.")),
    ("Road", ("Rd", "Rd.")),
    ("Drive", ("Dr", "Dr.")),
    ("Lane", ("Ln",)),
    ("Court", ("Ct",)),
    ("straße", ("str.", "strasse")),
    ("Straße", ("Str.", "Strasse")),
    ("avenue", ("av.", "ave")),
    ("boulevard", ("bd", "boul.")),
    ("rue", ("r.",)),
    ("Calle", ("C/", "c/", "Cl.")),
    ("Avenida", ("Avda.", "Av.")),
    ("Plaza", ("Pza.", "Pl.")),
    ("Paseo", ("Pº", "P.º")),
)
_GMAIL = frozenset({"gmail.com", "googlemail.com"})
_DOMAIN_TYPOS = {
    "gmail.com": ("gmial.com", "gmail.con", "gmai.com"),
    "hotmail.com": ("hotmial.com", "hotmail.co"),
    "yahoo.com": ("yaho.com", "yahooo.com"),
    "web.de": ("wev.de",),
    "gmx.de": ("gmx.ed",),
    "outlook.com": ("outlok.com",),
}
_FAMILY_WORD = {"US": "the", "GB": "the", "DE": "familie.", "FR": "famille.", "ES": "familia."}
_KEYBOARD = dict(
    pair.split(":")
    for pair in (
        "a:qswz b:vghn c:xdfv d:serfcx e:wsdr f:drtgvc g:ftyhbv h:gyujnb i:ujko j:huikmn k:jiolm "
        "l:kop m:njk n:bhjm o:iklp p:ol q:wa r:edft s:awedxz t:rfgy u:yhji v:cfgb w:qase x:zsdc "
        "y:tghu z:asx"
    ).split()
)


# =============================================================================================
# Text helpers
# =============================================================================================

_FOLD = str.maketrans({"ß": "ss", "ø": "o", "æ": "ae", "œ": "oe", "ł": "l"})
_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})


def strip_accents(text: str) -> str:
    """Drop diacritics the way ASCII-only systems do: José -> Jose, Müller -> Muller."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def transliterate(text: str) -> str:
    """Spell umlauts the German way: Müller -> Mueller, Weiß -> Weiss."""
    return strip_accents(text.translate(_GERMAN))


def slug(text: str, *, german: bool = False) -> str:
    """The letters an email local part keeps of a name: "O'Neil" -> "oneil"."""
    folded = transliterate(text) if german else strip_accents(text)
    return "".join(ch for ch in folded.lower() if "a" <= ch <= "z")


def mailbox(email: str) -> str:
    """The mailbox an address delivers to: Gmail drops dots and +tags, googlemail is gmail."""
    local, _, domain = email.lower().partition("@")
    local = local.split("+")[0]
    if domain in _GMAIL:
        return local.replace(".", "") + "@gmail.com"
    return f"{local}@{domain}"


def typo(rng: random.Random, word: str, edits: int = 1) -> str:
    """Apply `edits` keyboard-like edits: a neighbour key, a dropped, doubled or swapped letter."""
    for _ in range(edits):
        if len(word) < 3:
            return word
        i = rng.randrange(1, len(word) - 1)
        how = rng.random()
        ch = word[i]
        if how < 0.35 and ch.lower() in _KEYBOARD:
            sub = rng.choice(_KEYBOARD[ch.lower()])
            word = word[:i] + (sub.upper() if ch.isupper() else sub) + word[i + 1 :]
        elif how < 0.6:
            word = word[:i] + word[i + 1 :]
        elif how < 0.8:
            word = word[:i] + ch + word[i:]
        else:
            word = word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]
    return word


def zipf_weights(n: int, exponent: float = 0.9) -> list[float]:
    """Cumulative Zipf weights: names are common in a long tail, as real names are."""
    return list(accumulate(1.0 / (rank**exponent) for rank in range(1, n + 1)))


def _fill(rng: random.Random, template: str) -> str:
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    return "".join(
        str(rng.randrange(10)) if ch == "#" else rng.choice(letters) if ch == "@" else ch
        for ch in template
    )


# =============================================================================================
# The population
# =============================================================================================


@dataclass(frozen=True, slots=True)
class Phone:
    """A number as its country's national significant number plus the area code's length."""

    country: str
    nsn: str
    area_length: int  # 0 for numbers written without an area split (mobiles)
    mobile: bool


@dataclass(frozen=True, slots=True)
class Address:
    """A postal address (street kept canonical; records abbreviate it)."""

    country: str
    city: City
    street: str
    number: str
    postcode: str
    extra: str = ""  # flat, floor, c/o


@dataclass(slots=True)
class Company:
    """An employer: name, legal form, domain, main line, office and role mailboxes."""

    country: str
    brand: str
    legal_form: str
    domain: str
    main_phone: Phone
    office: Address
    email_pattern: str
    role_boxes: tuple[str, ...]
    staff: int = 0


@dataclass(slots=True)
class Person:
    """One real person and everything their records may say about them."""

    pid: str
    country: str
    gender: str
    first: str
    last: str  # current; for Spain both surnames
    birth: date
    home: Address
    mobile: Phone | None
    landline: Phone | None
    emails: list[str]  # personal addresses, the main one first
    maiden: str | None = None  # last name before marriage
    old_home: Address | None = None
    old_landline: Phone | None = None
    family_email: str | None = None
    company: Company | None = None
    work_email: str | None = None
    job_title: str = ""
    kind: str = "person"  # person | partner | namesake (how they came to be drawn)


class World:
    """Everything shared across chunks: companies, and the addresses already taken."""

    def __init__(self, seed: int, people: int) -> None:
        self.seed = seed
        self.used_emails: set[str] = set()
        self.used_domains: set[str] = set()
        self.used_brands: set[str] = set()
        rng = random.Random(f"crm:{seed}:companies")
        countries = list(COUNTRIES)
        weights = [COUNTRIES[c].weight for c in countries]
        self.companies: dict[str, list[Company]] = {c: [] for c in countries}
        for _ in range(max(60, people // 18)):
            code = rng.choices(countries, weights)[0]
            self.companies[code].append(self._company(rng, COUNTRIES[code]))
        self.company_weights = {
            c: zipf_weights(len(found), 0.8) for c, found in self.companies.items() if found
        }

    def _company(self, rng: random.Random, country: Country) -> Company:
        for attempt in range(1000):
            style = rng.random()
            if style < 0.45:
                brand = f"{rng.choice(_BRANDS)} {rng.choice(country.sectors)}"
            elif style < 0.75:
                brand = f"{rng.choice(country.last)} {rng.choice(country.sectors)}"
            elif style < 0.85:
                a, b = rng.sample(country.last, 2)
                brand = f"{a} & {b}"
            else:
                brand = rng.choice(_BRANDS) + ("" if attempt < 50 else f" {attempt}")
            if brand not in self.used_brands:
                break
        self.used_brands.add(brand)
        base = slug(brand.split(" & ")[0].split()[0], german=country.code == "DE")
        domain = base + ("-" + slug(brand.split()[-1]) if " " in brand else "") + country.tld
        n = 2
        while domain in self.used_domains:
            domain = f"{base}{n}{country.tld}"
            n += 1
        self.used_domains.add(domain)
        city = rng.choice(country.cities)
        return Company(
            country=country.code,
            brand=brand,
            legal_form=rng.choice(country.legal_forms),
            domain=domain,
            main_phone=landline(rng, country, city, main_line=True),
            office=address(rng, country, city),
            email_pattern=rng.choice(("first.last", "first.last", "f.last", "flast", "first")),
            role_boxes=tuple(rng.sample(country.role_boxes, 2)),
        )

    def pick_company(self, rng: random.Random, code: str) -> Company:
        """An employer in the person's country, mostly, bigger ones more often."""
        if rng.random() < 0.1 or code not in self.company_weights:
            code = rng.choice(list(self.company_weights))
        found = self.companies[code]
        return rng.choices(found, cum_weights=self.company_weights[code])[0]

    def unique_email(self, local: str, domain: str, rng: random.Random) -> str:
        """An address no one else has (compared as mailboxes: Gmail ignores dots)."""
        email = f"{local}@{domain}"
        while mailbox(email) in self.used_emails:
            email = f"{local}{rng.randrange(2, 99)}@{domain}"
        self.used_emails.add(mailbox(email))
        return email


def landline(rng: random.Random, country: Country, city: City, *, main_line: bool = False) -> Phone:
    """A landline in `city`: its area code and a subscriber number of the country's length."""
    area = rng.choice(city.areas)
    rest = country.landline_length - len(area)
    if country.code == "GB" and area in ("20", "29", "28"):
        rest = 8
    first = "2345678"
    if country.code == "GB":  # allocated ranges, so numbers pass validation
        first = {"20": "378", "29": "2"}.get(area, "234")
    subscriber = _digits(rng, rest, first)
    if main_line and country.code == "DE":
        subscriber = subscriber[:-1] + "0"  # switchboards end in 0 in Germany
    return Phone(country.code, area + subscriber, len(area), mobile=False)


def mobile(rng: random.Random, country: Country) -> Phone:
    """A mobile number of the country."""
    nsn = country.mobile(rng)
    area = {"US": 3, "GB": 4, "DE": 3, "FR": 1, "ES": 3}[country.code]
    return Phone(country.code, nsn, area, mobile=True)


def address(rng: random.Random, country: Country, city: City | None = None) -> Address:
    """A postal address in `city` (or a random city of the country)."""
    city = city or rng.choice(country.cities)
    number = str(rng.choice((rng.randint(1, 40), rng.randint(1, 250))))
    if country.code == "DE" and rng.random() < 0.08:
        number += rng.choice("abc")
    extra = ""
    if rng.random() < 0.15:
        extra = {
            "US": f"Apt {rng.randint(1, 30)}{rng.choice('ABCD')}",
            "GB": f"Flat {rng.randint(1, 12)}",
            "DE": f"{rng.randint(1, 5)}. OG",
            "FR": f"Bât. {rng.choice('ABC')}",
            "ES": f"{rng.randint(1, 8)}º {rng.choice('ABCD')}",
        }[country.code]
    return Address(
        country=country.code,
        city=city,
        street=rng.choice(country.streets),
        number=number,
        postcode=_fill(rng, rng.choice(city.postcodes))
        + (" " + _fill(rng, "#@@") if country.code == "GB" else ""),
        extra=extra,
    )


def _compounds(prefixes: str, suffixes: str) -> tuple[str, ...]:
    return tuple(p + s for p in _items(prefixes) for s in _items(suffixes))


_ENGLISH_TAIL = _compounds(
    "Ash, Black, Brad, Brook, Cald, Chat, Clay, Craw, Dal, Fair, Gold, Hal, Hart, Hol, Kings, "
    "Lang, Mar, Mid, Mor, New, North, Pem, Red, Rid, Stan, Stock, Thorn, Wake, Wal, West, Whit, "
    "Wood, Bar, Brom, Cart, Dun, Eller, Farn, Gris, Har",
    "ley, ton, field, ford, wood, worth, well, by, ham, more, stone, bridge, dale, wick",
)
# Rare surnames: real name frequencies have a head of common names and a long tail. Without
# the tail, same-name strangers would be ten times more frequent than in real data.
SURNAME_TAILS: dict[str, tuple[str, ...]] = {
    "US": _ENGLISH_TAIL,
    "GB": _ENGLISH_TAIL,
    "DE": _compounds(
        "Acker, Bach, Berg, Birken, Blum, Brink, Busch, Eich, Feld, Fisch, Gold, Grün, Hage, "
        "Hart, Hein, Hoch, Holz, Horn, Kirch, Kling, Kreuz, Lind, Mühl, Neu, Ober, Rosen, Sand, "
        "Stein, Stern, Wald, Zimmer, Brück, Dreß, Eck, Fahr, Gies, Hass, Kamp, Lütt, Röd",
        "mann, er, ner, meier, berg, hoff, feld, bach, haus, huber, ling, inger, brink, hardt",
    ),
    "FR": _compounds(
        "Beau, Bel, Bon, Char, Chev, Dela, Desch, Fon, Gar, Lam, Lan, Mar, Mont, Pet, Ray, Roch, "
        "Sal, Vall, Vil, Ver, Bou, Cour, Duch, Gir, Laf, Mich, Pel, Ren, Riv, Thib",
        "ier, ard, eau, and, et, ot, on, ois, in, elle, ault, ac, ène, ès",
    ),
    "ES": _compounds(
        "Al, Bar, Cal, Cas, Es, Gal, Her, Lar, Mar, Mon, Ol, Pal, Quin, Riv, Sal, Tor, Val, Vil, "
        "Zam, Ar, Bel, Car, Cor, Fer, Llo, Mend, Orte, Pare, Sot, Ur",
        "illo, ero, ado, ana, edo, era, ares, ino, oso, uela, eda, ente, ón, ázquez",
    ),
}
FIRST_NAME_SKEW = 0.2  # Zipf exponents: the most common name is a few percent, not a sixth
LAST_NAME_SKEW = 0.3
LAST_NAME_HEAD = 0.5  # share of people with one of the common surnames


@functools.cache
def _name_weights(count: int, exponent: float) -> list[float]:
    return zipf_weights(count, exponent)


def _zipf_choice(rng: random.Random, names: tuple[str, ...], exponent: float) -> str:
    return rng.choices(names, cum_weights=_name_weights(len(names), exponent))[0]


def _first_name(rng: random.Random, country: Country, gender: str) -> str:
    names = country.female if gender == "f" else country.male
    return _zipf_choice(rng, names, FIRST_NAME_SKEW)


def _surname(rng: random.Random, country: Country) -> str:
    if rng.random() < LAST_NAME_HEAD:
        return _zipf_choice(rng, country.last, LAST_NAME_SKEW)
    return rng.choice(SURNAME_TAILS[country.code])


def _last_name(rng: random.Random, country: Country) -> str:
    last = _surname(rng, country)
    if country.code == "ES":  # two surnames, both inherited
        last = f"{last} {_surname(rng, country)}"
    return last


def first_surname(last: str) -> str:
    """The first of a Spanish double surname, particles kept: "de la Cruz López" -> "de la Cruz"."""
    words = last.split()
    taken = 0
    while taken < len(words) - 1 and words[taken].lower() in ("de", "del", "la", "von", "van"):
        taken += 1
    return " ".join(words[: taken + 1])


_COUNTRY_CODES = tuple(COUNTRIES)
_COUNTRY_CUM = list(accumulate(COUNTRIES[c].weight for c in _COUNTRY_CODES))


def _personal_local(rng: random.Random, first: str, last: str, birth: date, german: bool) -> str:
    f = slug(first.split()[0].split("-")[0], german=german)
    la = slug(first_surname(last), german=german)
    yy = f"{birth.year % 100:02d}"
    pattern = rng.random()
    if pattern < 0.3:
        return f"{f}.{la}"
    if pattern < 0.45:
        return f"{f}{la}"
    if pattern < 0.55:
        return f"{f[0]}{la}{yy}"
    if pattern < 0.65:
        return f"{f}_{la}"
    if pattern < 0.72:
        return f"{la}.{f}"
    if pattern < 0.82:
        return f"{f}{yy}"
    if pattern < 0.9:
        return f"{f}.{la}{rng.randint(1, 999)}"
    return f"{f[:3]}{la[:4]}{rng.randint(1, 99)}"


def _work_local(company: Company, first: str, last: str) -> str:
    german = company.country == "DE"
    f = slug(first.split()[0].split("-")[0], german=german)
    la = slug(first_surname(last) if company.country == "ES" else last, german=german)
    return {
        "first.last": f"{f}.{la}",
        "f.last": f"{f[0]}.{la}",
        "flast": f"{f[0]}{la}",
        "first": f,
    }[company.email_pattern]


def _free_domain(rng: random.Random, country: Country) -> str:
    domains = [domain for domain, _ in country.mail_domains]
    weights = [weight for _, weight in country.mail_domains]
    return rng.choices(domains, weights)[0]


def draw_person(
    rng: random.Random,
    world: World,
    pid: str,
    *,
    like: Person | None = None,
    relation: str = "person",
) -> Person:
    """Draw one person; a partner shares `like`'s home, a namesake `like`'s name and city."""
    code = like.country if like else rng.choices(_COUNTRY_CODES, cum_weights=_COUNTRY_CUM)[0]
    country = COUNTRIES[code]
    german = code == "DE"
    if relation == "namesake" and like is not None:
        gender, first, last = like.gender, like.first, like.last
    else:
        gender = rng.choice("fm")
        if relation == "partner" and like is not None and rng.random() < 0.85:
            gender = "m" if like.gender == "f" else "f"
        first = _first_name(rng, country, gender)
        while like is not None and first == like.first:
            first = _first_name(rng, country, gender)
        last = _last_name(rng, country)
        if relation == "partner" and like is not None and rng.random() < 0.88:
            last = like.last
    age = rng.randint(19, 82)
    if relation == "partner" and like is not None:
        age = max(19, min(85, (date(2025, 6, 1).year - like.birth.year) + rng.randint(-6, 6)))
    birth = date(2025 - age, 1, 1) + timedelta(days=rng.randrange(365))
    if relation == "partner" and like is not None:
        home = like.home
    elif relation == "namesake" and like is not None:
        home = address(rng, country, like.home.city)
    else:
        home = address(rng, country)
    person = Person(
        pid=pid,
        country=code,
        gender=gender,
        first=first,
        last=last,
        birth=birth,
        home=home,
        mobile=mobile(rng, country) if rng.random() < 0.85 else None,
        landline=None,
        emails=[],
        kind=relation,
    )
    if relation == "partner" and like is not None:
        if like.landline is None:
            like.landline = landline(rng, country, home.city)
        person.landline = like.landline
    elif rng.random() < 0.35:
        person.landline = landline(rng, country, home.city)
    # Married: records from before the wedding carry the maiden name, and so does the
    # personal email she opened then.
    if (
        gender == "f"
        and relation != "namesake"
        and code != "ES"  # Spanish women keep their surnames
        and rng.random() < 0.12
    ):
        person.maiden = _last_name(rng, country)
    email_last = person.maiden or last
    person.emails.append(
        world.unique_email(
            _personal_local(rng, first, email_last, birth, german), _free_domain(rng, country), rng
        )
    )
    if rng.random() < 0.25:  # an older address at another provider
        person.emails.append(
            world.unique_email(
                _personal_local(rng, first, email_last, birth, german),
                _free_domain(rng, country),
                rng,
            )
        )
    if rng.random() < 0.12:  # moved: older records have the old address and landline
        moved_city = home.city if rng.random() < 0.5 else None
        person.old_home = address(rng, country, moved_city)
        if person.landline is not None:
            person.old_landline = landline(rng, country, person.old_home.city)
    if rng.random() < 0.55 and age < 68:
        company = world.pick_company(rng, code)
        company.staff += 1
        person.company = company
        person.job_title = rng.choice(JOB_TITLES)
        person.work_email = world.unique_email(
            _work_local(company, first, last), company.domain, rng
        )
    return person


def draw_chunk(rng: random.Random, world: World, first_index: int, count: int) -> list[Person]:
    """Draw `count` people: singles, couples sharing a home, and same-name strangers."""
    people: list[Person] = []
    while len(people) < count:
        pid = f"P{first_index + len(people):07d}"
        person = draw_person(rng, world, pid)
        people.append(person)
        if len(people) < count and rng.random() < 0.11:
            partner = draw_person(
                rng, world, f"P{first_index + len(people):07d}", like=person, relation="partner"
            )
            people.append(partner)
            if rng.random() < 0.12 and person.last == partner.last:  # one family mailbox
                local = _FAMILY_WORD[person.country] + slug(
                    first_surname(person.last), german=person.country == "DE"
                )
                shared = world.unique_email(
                    local, _free_domain(rng, COUNTRIES[person.country]), rng
                )
                person.family_email = partner.family_email = shared
        if len(people) < count and rng.random() < 0.045:
            people.append(
                draw_person(
                    rng,
                    world,
                    f"P{first_index + len(people):07d}",
                    like=person,
                    relation="namesake",
                )
            )
    return people


# =============================================================================================
# Rendering: one person as one row of one system
# =============================================================================================


@dataclass(frozen=True, slots=True)
class Style:
    """How carefully a system's rows were typed (rates per record)."""

    nickname: float
    typo: float
    lower: float
    upper: float
    swap: float
    ascii_only: float  # accents dropped (English keyboard, old system)
    transliterate: float  # umlauts spelled out (Mueller)
    spaces: float
    missing_first: float = 0.0
    missing_last: float = 0.0


STYLES = {
    "hubspot": Style(0.10, 0.02, 0.03, 0.01, 0.015, 0.08, 0.04, 0.03),
    "salesforce": Style(0.05, 0.02, 0.01, 0.02, 0.01, 0.10, 0.10, 0.02),
    "shopify": Style(0.10, 0.025, 0.10, 0.03, 0.015, 0.20, 0.05, 0.05, 0.0, 0.01),
    "mailchimp": Style(0.12, 0.01, 0.12, 0.02, 0.01, 0.10, 0.03, 0.03, 0.10, 0.18),
    "zendesk": Style(0.15, 0.03, 0.12, 0.02, 0.0, 0.25, 0.05, 0.04),
    "messe": Style(0.08, 0.06, 0.02, 0.05, 0.03, 0.05, 0.15, 0.04),
}
DUPLICATE_RATES = {
    "hubspot": 0.06,
    "salesforce": 0.05,
    "shopify": 0.05,
    "mailchimp": 0.04,
    "zendesk": 0.08,
    "messe": 0.04,
}


def _mess(rng: random.Random, value: str, style: Style) -> str:
    """Case and whitespace noise."""
    if not value:
        return value
    r = rng.random()
    if r < style.lower:
        value = value.lower()
    elif r < style.lower + style.upper:
        value = value.upper()
    if rng.random() < style.spaces:
        value = rng.choice((f" {value}", f"{value} ", value.replace(" ", "  "), f"{value}  "))
    return value


def render_name(rng: random.Random, person: Person, style: Style, *, old: bool) -> tuple[str, str]:
    """First and last name as one system has them: nicknames, typos, accents, swaps, case."""
    first = person.first
    last = person.maiden if old and person.maiden else person.last
    if person.country == "ES" and rng.random() < 0.4:
        last = first_surname(last)
    if first in NICKNAMES and rng.random() < style.nickname:
        first = rng.choice(NICKNAMES[first])
    if rng.random() < style.typo:
        if rng.random() < 0.5:
            first = typo(rng, first, rng.choice((1, 1, 2)))
        else:
            last = typo(rng, last, rng.choice((1, 1, 2)))
    if rng.random() < style.transliterate and person.country == "DE":
        first, last = transliterate(first), transliterate(last)
    elif rng.random() < style.ascii_only:
        first, last = strip_accents(first), strip_accents(last)
    if rng.random() < style.swap:
        first, last = last, first
    first, last = _mess(rng, first, style), _mess(rng, last, style)
    if rng.random() < style.missing_first:
        first = ""
    if rng.random() < style.missing_last:
        last = ""
    return first, last


def render_email(rng: random.Random, email: str, *, careless: float = 0.03) -> str:
    """The same mailbox as people type it: case, Gmail dots and +tags, the odd typo."""
    local, domain = email.split("@")
    if domain in _GMAIL:
        r = rng.random()
        if r < 0.12:
            local = local.replace(".", "")
        elif r < 0.2 and len(local) > 4:
            i = rng.randrange(1, len(local) - 1)
            local = local[:i] + "." + local[i:] if "." not in local[i - 1 : i + 1] else local
        elif r < 0.3:
            local = f"{local}+{rng.choice(('shop', 'news', 'promo', 'orders', 'spam'))}"
        if domain == "googlemail.com" and rng.random() < 0.5:
            domain = "gmail.com"
    if domain in _DOMAIN_TYPOS and rng.random() < careless / 3:
        domain = rng.choice(_DOMAIN_TYPOS[domain])
    if rng.random() < careless / 3:
        local = typo(rng, local)
    out = f"{local}@{domain}"
    r = rng.random()
    if r < careless:
        out = out.title() if rng.random() < 0.5 else out.upper()
    elif r < careless * 2:
        out = f" {out} "
    return out


def format_phone(
    rng: random.Random, phone: Phone, *, international: float, home: str | None = None
) -> str:
    """A number in one of its country's usual spellings, with the country code or without.

    A number of another country than `home` (the record's country) always has its code:
    people write +49 on a German number in a US record, or the number is unreadable.
    """
    nsn, cc = phone.nsn, COUNTRIES[phone.country].calling_code
    a = phone.area_length
    intl = rng.random() < international or (home is not None and home != phone.country)
    if phone.country == "US":
        area, exchange, line = nsn[:3], nsn[3:6], nsn[6:]
        if intl:
            return rng.choice(
                (
                    f"+1 {area} {exchange} {line}",
                    f"+1 ({area}) {exchange}-{line}",
                    f"+1{nsn}",
                    f"+1-{area}-{exchange}-{line}",
                )
            )
        return rng.choice(
            (
                f"({area}) {exchange}-{line}",
                f"{area}-{exchange}-{line}",
                f"{area}.{exchange}.{line}",
                nsn,
                f"1-{area}-{exchange}-{line}",
            )
        )
    if phone.country == "FR":
        pairs = " ".join(nsn[i : i + 2] for i in range(1, 9, 2))
        if intl:
            return rng.choice(
                (f"+33 {nsn[0]} {pairs}", f"+33 (0){nsn[0]} {pairs}", f"+33{nsn}", f"0033 {nsn}")
            )
        national = "0" + nsn
        return rng.choice(
            (
                " ".join(national[i : i + 2] for i in range(0, 10, 2)),
                ".".join(national[i : i + 2] for i in range(0, 10, 2)),
                national,
                "-".join(national[i : i + 2] for i in range(0, 10, 2)),
            )
        )
    if phone.country == "ES":
        grouped = rng.choice(
            (
                f"{nsn[:3]} {nsn[3:6]} {nsn[6:]}",
                f"{nsn[:3]} {nsn[3:5]} {nsn[5:7]} {nsn[7:]}",
                f"{nsn[:2]} {nsn[2:5]} {nsn[5:7]} {nsn[7:]}",
                nsn,
            )
        )
        if intl:
            return rng.choice(
                (f"+34 {grouped}", f"+34{nsn}", f"0034 {grouped}", f"(+34) {grouped}")
            )
        return grouped
    # GB and DE: area code and subscriber, with a trunk 0 nationally.
    area, rest = nsn[:a], nsn[a:]
    if phone.country == "GB":
        rest = rest if len(rest) < 7 else f"{rest[: len(rest) - 4]} {rest[-4:]}"
        if phone.mobile:
            rest = nsn[a:]
    if intl:
        return rng.choice(
            (
                f"+{cc} {area} {rest}",
                f"+{cc} (0){area} {rest}",
                f"+{cc}{nsn}",
                f"00{cc} {area} {rest}",
                f"+{cc}-{area}-{rest.replace(' ', '')}",
            )
        )
    if phone.country == "DE":
        return rng.choice(
            (
                f"0{area} {rest}",
                f"0{area}/{rest}",
                f"0{area}-{rest}",
                f"(0{area}) {rest}",
                f"0{nsn}",
                f"0{area} / {rest}",
            )
        )
    return rng.choice((f"0{area} {rest}", f"0{nsn}", f"(0{area}) {rest}"))


def render_street(
    rng: random.Random, addr: Address, *, abbreviate: float = 0.35, extra: bool = True
) -> str:
    """Street and number in the country's order, abbreviated or not, with the flat or not."""
    street = addr.street
    if rng.random() < abbreviate:
        for word, short in STREET_ABBREVIATIONS:
            if word in street:
                street = street.replace(word, rng.choice(short), 1)
                break
    if addr.country == "DE":
        line = f"{street} {addr.number}"
    elif addr.country == "ES":
        line = rng.choice((f"{street}, {addr.number}", f"{street} {addr.number}"))
    elif addr.country == "FR":
        line = rng.choice((f"{addr.number} {street}", f"{addr.number}, {street}"))
    else:
        line = f"{addr.number} {street}"
    if extra and addr.extra and rng.random() < 0.5:
        line = f"{addr.extra}, {line}" if addr.country == "GB" else f"{line}, {addr.extra}"
    return line


def render_company(rng: random.Random, company: Company) -> str:
    """The company's name as someone typed it: legal form spelled any way, case noise."""
    brand = company.brand
    if company.country == "DE" and rng.random() < 0.2:
        brand = transliterate(brand)
    form = rng.choice(LEGAL_VARIANTS.get(company.legal_form, (company.legal_form, "")))
    if rng.random() < 0.25:
        form = ""
    if company.country == "FR" and form and rng.random() < 0.3:
        name = f"{form} {brand}"
    elif form.startswith(","):
        name = brand + form
    else:
        name = f"{brand} {form}".strip()
    r = rng.random()
    if r < 0.06:
        name = name.upper()
    elif r < 0.1:
        name = name.lower()
    return name


def _pick_phone(rng: random.Random, person: Person, old: bool) -> Phone | None:
    fixed = person.old_landline if old and person.old_landline else person.landline
    options = [p for p in (person.mobile, fixed) if p is not None]
    return rng.choice(options) if options else None


@dataclass(slots=True)
class Context:
    """What one record of a person draws on: old or new life, which mailbox, which address."""

    old: bool
    email: str
    work: bool  # the record comes from the person's work life
    role_box: bool


def _context(rng: random.Random, person: Person, *, b2b: float, role: float) -> Context:
    """Choose the person's era and email for one record."""
    old = (person.maiden is not None or person.old_home is not None) and rng.random() < 0.4
    company = person.company
    if company is not None and rng.random() < b2b:
        if rng.random() < role:
            box = f"{rng.choices(company.role_boxes, (3, 1))[0]}@{company.domain}"
            return Context(old, box, work=True, role_box=True)
        assert person.work_email is not None
        return Context(old, person.work_email, work=True, role_box=False)
    if person.family_email and rng.random() < 0.5:
        return Context(old, person.family_email, work=False, role_box=False)
    email = person.emails[-1] if old and len(person.emails) > 1 else rng.choice(person.emails)
    return Context(old, email, work=False, role_box=False)


def _spelling(rng: random.Random, country: Country) -> str:
    return country.spellings[0] if rng.random() < 0.5 else rng.choice(country.spellings)


def _created(rng: random.Random, old: bool) -> datetime:
    start = datetime(2016, 1, 1) if old else datetime(2021, 1, 1)
    return start + timedelta(seconds=rng.randrange(4 * 365 * 86400))


Row = dict[str, str]


def hubspot_row(rng: random.Random, person: Person) -> tuple[Row, Context]:
    """A HubSpot contact: marketing and sales, work or private."""
    ctx = _context(rng, person, b2b=0.6, role=0.1)
    style = STYLES["hubspot"]
    first, last = render_name(rng, person, style, old=ctx.old)
    if rng.random() < 0.01 and first and last:
        first, last = f"{last}, {first}", ""
    addr = person.company.office if ctx.work and person.company else person.home
    if ctx.old and person.old_home and not ctx.work:
        addr = person.old_home
    country = COUNTRIES[addr.country]
    row: Row = {
        "First Name": first,
        "Last Name": last,
        "Email": render_email(rng, ctx.email) if rng.random() < 0.95 else "",
        "Lifecycle Stage": rng.choice(("lead", "subscriber", "customer", "opportunity")),
        "Create Date": _created(rng, ctx.old).strftime("%Y-%m-%d %H:%M"),
    }
    phone = person.company.main_phone if ctx.role_box and person.company else None
    if phone is None and ctx.work and person.company and rng.random() < 0.3:
        phone = person.company.main_phone
    phone = phone or _pick_phone(rng, person, ctx.old)
    if phone is not None and rng.random() < 0.6:
        row["Phone Number"] = format_phone(rng, phone, international=0.35, home=addr.country)
    if person.mobile is not None and rng.random() < 0.25:
        row["Mobile Phone Number"] = format_phone(
            rng, person.mobile, international=0.5, home=addr.country
        )
    if person.company is not None and (ctx.work or rng.random() < 0.2):
        row["Company Name"] = render_company(rng, person.company)
        row["Job Title"] = person.job_title if rng.random() < 0.6 else ""
    if rng.random() < 0.7:
        row["Street Address"] = render_street(rng, addr)
        row["City"] = addr.city.exonym if rng.random() < 0.5 else addr.city.name
        row["Postal Code"] = addr.postcode
        row["State/Region"] = addr.city.region if addr.country in ("US", "GB") else ""
    elif rng.random() < 0.5:
        row["City"] = addr.city.name
    if rng.random() < 0.85:
        row["Country/Region"] = _spelling(rng, country)
    return row, ctx


def salesforce_row(rng: random.Random, person: Person) -> tuple[Row, Context]:
    """A Salesforce contact: the sales team's view, work life first."""
    ctx = _context(rng, person, b2b=0.85, role=0.08)
    style = STYLES["salesforce"]
    first, last = render_name(rng, person, style, old=ctx.old)
    company = person.company
    addr = company.office if ctx.work and company and rng.random() < 0.6 else person.home
    if ctx.old and person.old_home and addr is person.home:
        addr = person.old_home
    country = COUNTRIES[addr.country]
    row: Row = {
        "Salutation": rng.choice(("Mr.",) if person.gender == "m" else ("Ms.", "Mrs."))
        if rng.random() < 0.7
        else "",
        "FirstName": first,
        "LastName": last or person.last,
        "Email": render_email(rng, ctx.email, careless=0.01) if rng.random() < 0.97 else "",
        "LeadSource": rng.choice(("Web", "Trade Show", "Partner Referral", "Cold Call", "")),
        "CreatedDate": _created(rng, ctx.old).strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
    }
    if company is not None:
        row["Account Name"] = render_company(rng, company)
        row["Title"] = person.job_title if rng.random() < 0.8 else ""
    if company is not None and (ctx.role_box or (ctx.work and rng.random() < 0.4)):
        row["Phone"] = format_phone(rng, company.main_phone, international=0.4, home=addr.country)
    else:
        phone = _pick_phone(rng, person, ctx.old)
        if phone is not None and rng.random() < 0.7:
            row["Phone"] = format_phone(rng, phone, international=0.4, home=addr.country)
    if person.mobile is not None and rng.random() < 0.45:
        row["MobilePhone"] = format_phone(rng, person.mobile, international=0.6, home=addr.country)
    if rng.random() < 0.8:
        row["MailingStreet"] = render_street(rng, addr, abbreviate=0.5)
        row["MailingCity"] = addr.city.exonym if rng.random() < 0.3 else addr.city.name
        row["MailingState"] = addr.city.region if addr.country in ("US",) else ""
        row["MailingPostalCode"] = addr.postcode
        row["MailingCountry"] = _spelling(rng, country)
    if rng.random() < 0.35:
        birth = person.birth
        if rng.random() < 0.02 and birth.day <= 12:  # day and month swapped on entry
            birth = birth.replace(month=birth.day, day=birth.month)
        row["Birthdate"] = birth.isoformat()
    return row, ctx


def shopify_row(rng: random.Random, person: Person) -> tuple[Row, Context]:
    """A Shopify customer: a private buyer, ships home."""
    ctx = _context(rng, person, b2b=0.1, role=0.0)
    style = STYLES["shopify"]
    first, last = render_name(rng, person, style, old=ctx.old)
    addr = person.old_home if ctx.old and person.old_home else person.home
    orders = rng.choice((0, 1, 1, 1, 2, 2, 3, 4, 6, 9))
    row: Row = {
        "First Name": first,
        "Last Name": last,
        "Email": render_email(rng, ctx.email, careless=0.04) if rng.random() < 0.98 else "",
        "Accepts Email Marketing": rng.choice(("yes", "no")),
        "Accepts SMS Marketing": rng.choice(("no", "no", "yes")),
        "Total Spent": f"{orders * rng.uniform(15, 120):.2f}",
        "Total Orders": str(orders),
        "Tax Exempt": "no",
        "Tags": rng.choice(("", "", "vip", "newsletter", "wholesale, vip", "returning")),
    }
    if orders and rng.random() < 0.92:
        second = bool(addr.extra) and rng.random() < 0.4
        row["Default Address Address1"] = render_street(rng, addr, abbreviate=0.3, extra=not second)
        if second:
            row["Default Address Address2"] = addr.extra
        row["Default Address City"] = addr.city.exonym if rng.random() < 0.3 else addr.city.name
        row["Default Address Province Code"] = addr.city.region if addr.country == "US" else ""
        row["Default Address Country Code"] = addr.country
        row["Default Address Zip"] = addr.postcode
        if person.company is not None and rng.random() < 0.1:
            row["Default Address Company"] = render_company(rng, person.company)
        phone = _pick_phone(rng, person, ctx.old)
        if phone is not None and rng.random() < 0.5:
            row["Default Address Phone"] = format_phone(
                rng, phone, international=0.3, home=addr.country
            )
    if person.mobile is not None and rng.random() < 0.35:
        # Shopify stores the customer's own phone in E.164.
        row["Phone"] = f"+{COUNTRIES[person.country].calling_code}{person.mobile.nsn}"
    if rng.random() < 0.05:
        row["Note"] = rng.choice(("Bitte beim Nachbarn abgeben", "Gift wrap please", "VIP"))
    if not row.get("Email") and not first and not last:
        row["Email"] = render_email(rng, ctx.email)
    return row, ctx


def mailchimp_row(rng: random.Random, person: Person) -> tuple[Row, Context]:
    """A Mailchimp subscriber: an email address and, if they bothered, a name."""
    ctx = _context(rng, person, b2b=0.15, role=0.03)
    first, last = render_name(rng, person, STYLES["mailchimp"], old=ctx.old)
    row: Row = {
        "Email Address": render_email(rng, ctx.email, careless=0.02),
        "First Name": first,
        "Last Name": last,
        "MEMBER_RATING": str(rng.randint(1, 5)),
        "OPTIN_TIME": _created(rng, ctx.old).strftime("%Y-%m-%d %H:%M:%S"),
        "TAGS": rng.choice(("", "", '"Newsletter"', '"Customer","Newsletter"', '"Webinar"')),
    }
    return row, ctx


def zendesk_row(rng: random.Random, person: Person) -> tuple[Row, Context]:
    """A Zendesk end user: one name field however the requester wrote it, no country column."""
    ctx = _context(rng, person, b2b=0.25, role=0.12)
    style = STYLES["zendesk"]
    first, last = render_name(rng, person, style, old=ctx.old)
    r = rng.random()
    if r < 0.72:
        name = f"{first} {last}"
    elif r < 0.8:
        name = f"{last}, {first}"
    elif r < 0.83:
        name = f"{last} {first}"
    elif r < 0.88:
        name = first
    elif r < 0.91:
        name = ctx.email.split("@")[0]
    else:
        name = f"{first} {last[:1]}." if last else first
    country = COUNTRIES[person.country]
    row: Row = {
        "name": " ".join(name.split()) if rng.random() > style.spaces else name,
        "email": render_email(rng, ctx.email, careless=0.02) if rng.random() < 0.96 else "",
        "role": "end-user",
        "locale": country.locale if rng.random() < 0.7 else "en-US",
        "time_zone": country.time_zone if rng.random() < 0.6 else "",
        "created_at": _created(rng, ctx.old).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    phone = _pick_phone(rng, person, ctx.old)
    if ctx.role_box and person.company is not None:
        phone = person.company.main_phone
    if phone is not None and (rng.random() < 0.3 or not row["email"]):
        row["phone"] = format_phone(rng, phone, international=0.5)
    if person.company is not None and (ctx.work or rng.random() < 0.1):
        row["organization"] = render_company(rng, person.company)
    if not row["name"].strip() and not row["email"]:
        row["email"] = render_email(rng, ctx.email)
    return row, ctx


def messe_row(rng: random.Random, person: Person) -> tuple[Row, Context]:
    """A visitor typed in from a business card at a German trade fair."""
    ctx = _context(rng, person, b2b=0.8, role=0.15)
    first, last = render_name(rng, person, STYLES["messe"], old=ctx.old)
    company = person.company
    addr = company.office if ctx.work and company else person.home
    if ctx.old and person.old_home and addr is person.home:
        addr = person.old_home
    country = COUNTRIES[addr.country]
    postcode = addr.postcode
    if postcode.startswith("0") and rng.random() < 0.3:
        postcode = postcode.lstrip("0")  # Excel made it a number
    row: Row = {
        "Anrede": ("Frau" if person.gender == "f" else "Herr") if rng.random() < 0.8 else "",
        "Vorname": first,
        "Nachname": last or person.last,
        "E-Mail": render_email(rng, ctx.email, careless=0.04) if rng.random() < 0.85 else "",
        "Straße": render_street(rng, addr, abbreviate=0.5) if rng.random() < 0.7 else "",
        "PLZ": postcode if rng.random() < 0.8 else "",
        "Ort": addr.city.german,
        "Land": country.german if rng.random() < 0.85 else "",
        "Notiz": rng.choice(("", "", "", "Katalog zugeschickt", "Rückruf erbeten", "Angebot")),
    }
    if company is not None and (ctx.work or rng.random() < 0.3):
        row["Firma"] = render_company(rng, company)
    phone = company.main_phone if company is not None and ctx.work and rng.random() < 0.4 else None
    phone = phone or _pick_phone(rng, person, ctx.old)
    if phone is not None and rng.random() < 0.75:
        row["Telefon"] = format_phone(
            rng, phone, international=0.2 if phone.country == "DE" else 0.9, home=addr.country
        )
    return row, ctx


RENDER: dict[str, Callable[[random.Random, Person], tuple[Row, Context]]] = {
    "hubspot": hubspot_row,
    "salesforce": salesforce_row,
    "shopify": shopify_row,
    "mailchimp": mailchimp_row,
    "zendesk": zendesk_row,
    "messe": messe_row,
}


def memberships(rng: random.Random, person: Person) -> list[str]:
    """Which systems know the person (one record each; duplicates come on top)."""
    employed = person.company is not None
    odds = {
        "hubspot": 0.35 if employed else 0.12,
        "salesforce": 0.35 if employed else 0.03,
        "shopify": 0.40 if employed else 0.50,
        "mailchimp": 0.40,
        "zendesk": 0.15,
        "messe": (0.22 if person.country == "DE" else 0.08) if employed else 0.02,
    }
    chosen = [s for s, p in odds.items() if rng.random() < p]
    return chosen or [rng.choice(("shopify", "mailchimp", "hubspot"))]


# =============================================================================================
# Writing
# =============================================================================================

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class _Ids:
    """Record ids in each system's style, unique and increasing within a file."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.counters: Counter[str] = Counter()

    def next(self, source: str) -> str:
        self.counters[source] += 1
        n = self.counters[source]
        jitter = self.rng.randrange(3)
        if source == "hubspot":
            return str(1000 + 3 * n + jitter)
        if source == "salesforce":  # 18 characters: key prefix, pod, then a unique code
            code = (n * 1_000_003) % 62**8
            chars = []
            for _ in range(8):
                code, digit = divmod(code, 62)
                chars.append(_BASE62[digit])
            return "0035g00000" + "".join(reversed(chars))
        if source == "shopify":
            return str(6_512_340_000_000 + 41 * n + jitter)
        if source == "mailchimp":
            return str(90_000_000 + 7 * n + jitter)
        if source == "zendesk":
            return str(361_200_000_000 + 17 * n + jitter)
        return f"M{n:05d}"


def _open(out: Path, spec: SourceFile) -> tuple[TextIO, csv.DictWriter[str]]:
    handle = (out / spec.file).open(
        "w",
        encoding=spec.encoding,
        errors="replace" if spec.encoding != "utf-8" else "strict",
        newline="",
    )
    writer = csv.DictWriter(
        handle, fieldnames=spec.header, delimiter=spec.delimiter, restval="", lineterminator="\r\n"
    )
    writer.writeheader()
    return handle, writer


def generate(people: int, seed: int, out: Path) -> dict[str, Any]:
    """Write the six source files and truth.csv for `people` people; return the counts.

    Returns:
        people, records per source and in total, true pairs (pairs of records of one person)
        in total and across sources, and how many records or people carry each hard
        negative and life event.
    """
    out.mkdir(parents=True, exist_ok=True)
    world = World(seed, people)
    ids = _Ids(random.Random(f"crm:{seed}:ids"))
    handles: list[TextIO] = []
    writers: dict[str, csv.DictWriter[str]] = {}
    for spec in SOURCES:
        handle, writer = _open(out, spec)
        handles.append(handle)
        writers[spec.name] = writer
    specs = {spec.name: spec for spec in SOURCES}
    truth_handle = (out / TRUTH_FILE).open("w", encoding="utf-8", newline="")
    truth = csv.writer(truth_handle, lineterminator="\n")
    truth.writerow(("source", "external_id", "person_id"))
    records: Counter[str] = Counter()
    events: Counter[str] = Counter()
    true_pairs = cross_pairs = 0
    try:
        for chunk, start in enumerate(range(0, people, CHUNK)):
            rng = random.Random(f"crm:{seed}:chunk:{chunk}")
            drawn = draw_chunk(rng, world, start + 1, min(CHUNK, people - start))
            rows: dict[str, list[tuple[str, Row]]] = {s.name: [] for s in SOURCES}
            for person in drawn:
                per_source: Counter[str] = Counter()
                events[person.kind] += 1
                events["married_name"] += person.maiden is not None
                events["moved"] += person.old_home is not None
                events["family_mailbox"] += person.family_email is not None
                for source in memberships(rng, person):
                    copies = 1 + (rng.random() < DUPLICATE_RATES[source])
                    copies += copies > 1 and rng.random() < 0.1
                    for _ in range(copies):
                        row, ctx = RENDER[source](rng, person)
                        events["role_mailbox_records"] += ctx.role_box
                        rows[source].append((person.pid, row))
                        per_source[source] += 1
                n = sum(per_source.values())
                true_pairs += n * (n - 1) // 2
                cross_pairs += (n * n - sum(c * c for c in per_source.values())) // 2
            for source, found in rows.items():
                rng.shuffle(found)
                id_column = specs[source].id_column
                for pid, row in found:
                    external_id = ids.next(source)
                    row[id_column] = external_id
                    writers[source].writerow(row)
                    truth.writerow((source, external_id, pid))
                    records[source] += 1
    finally:
        for handle in handles:
            handle.close()
        truth_handle.close()
    return {
        "people": people,
        "seed": seed,
        "records": {s.name: records[s.name] for s in SOURCES},
        "records_total": sum(records.values()),
        "true_pairs": true_pairs,
        "true_pairs_across_sources": cross_pairs,
        "hard_negatives": {
            "namesake_people": events["namesake"],
            "household_partners": events["partner"],
            "family_mailbox_people": events["family_mailbox"],
            "role_mailbox_records": events["role_mailbox_records"],
            "companies": sum(len(c) for c in world.companies.values()),
        },
        "life_events": {"married_name": events["married_name"], "moved": events["moved"]},
        "files": [s.file for s in SOURCES] + [TRUTH_FILE],
    }


def read_rows(out: Path, spec: SourceFile) -> list[dict[str, str]]:
    """Read a generated file back as dicts (for checks and the recall ceiling)."""
    with (out / spec.file).open(encoding=spec.encoding, newline="") as handle:
        return list(csv.DictReader(handle, delimiter=spec.delimiter))


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line, generate, print the counts as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True, help="folder for the files")
    opts = parser.parse_args(argv)
    print(json.dumps(generate(opts.people, opts.seed, opts.out), indent=2))


if __name__ == "__main__":
    main()

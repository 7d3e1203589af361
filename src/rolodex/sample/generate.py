"""Build the bundled demo data: one synthetic population seen through seven messy exports.

`rolodex demo` imports the files this module writes into `rolodex/sample/data/` to show the
whole pipeline on data that looks like a small business's real systems: a Shopify shop, a
Mailchimp list, Salesforce leads, a hand-typed trade-fair sheet, Zendesk tickets and campaign
events. The same ~640 invented people appear across those sources the way real customers do:
under nicknames, with typos, different email spellings, work and personal addresses, phone
numbers in each system's format, and a few rows no importer should accept. `TRUTH.csv` says
which true person every row belongs to, so matching quality can be measured, not guessed.

Rebuild the files with `python -m rolodex.sample.generate [--out DIR] [--seed N]`. The output
is byte-identical for a given seed (every source draws from its own seeded generator, nothing
iterates over a set, the workbook carries fixed timestamps), so a change shows up in a diff.

The vocabulary tables at the top (names, streets, cities, phone styles per country) are also
used by `benchmarks/generate_contacts.py` to build its much larger files.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import unicodedata
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

from openpyxl import Workbook
from openpyxl.writer.excel import ExcelWriter

# =============================================================================================
# Vocabulary: what names, places and phone numbers look like in each country
# =============================================================================================


class City(NamedTuple):
    """A city with what exports write next to it."""

    name: str
    region_code: str
    region_name: str
    postcode: str  # template: each '#' becomes a random digit
    area_code: str  # landline area code without the trunk prefix
    latitude: float
    longitude: float
    timezone: str


class Phone(NamedTuple):
    """A phone number split the way formatting needs it."""

    calling_code: str  # "49"
    trunk: str  # national trunk prefix: "0", or "" where the area code stands alone
    area: str  # area code or mobile prefix
    subscriber: str


@dataclass(frozen=True, slots=True)
class CountryVocabulary:
    """Everything needed to invent a plausible person, address and phone number in a country."""

    code: str  # ISO 3166-1 alpha-2
    spellings: tuple[str, ...]  # how exports write the country; the first is the English name
    german_name: str  # for the trade-fair sheet
    calling_code: str
    trunk_prefix: str
    national_length: int  # digits of a landline number after the trunk prefix
    mobile_prefixes: tuple[str, ...]
    mobile_length: int
    phone_styles: tuple[str, ...]  # keys of PHONE_FORMATS, most common first
    female_names: tuple[str, ...]
    male_names: tuple[str, ...]
    last_names: tuple[str, ...]
    streets: tuple[str, ...]
    street_format: str  # "{number} {street}" or "{street} {number}" or with a comma
    second_lines: tuple[str, ...]  # templates for "Apt 4B" style lines; '#' becomes a digit
    cities: tuple[City, ...]
    email_domains: tuple[str, ...]  # most common first
    companies: tuple[str, ...]
    job_titles: tuple[str, ...]  # local-language titles, used next to the English ones
    currency: str
    date_order: str  # "MDY", "DMY" or "YMD": how people there write dates
    date_separator: str


def _items(text: str, sep: str = ",") -> tuple[str, ...]:
    """Split a vocabulary line; `sep` is ";" where the items contain commas themselves."""
    return tuple(item.strip() for item in text.split(sep) if item.strip())


def _cities(table: str) -> tuple[City, ...]:
    """Parse a `|`-separated table, one city a line, columns in the order of `City`."""
    cities = []
    for line in table.strip().splitlines():
        name, code, region, postcode, area, lat, lon, tz = (c.strip() for c in line.split("|"))
        cities.append(City(name, code, region, postcode, area, float(lat), float(lon), tz))
    return tuple(cities)


COUNTRIES: dict[str, CountryVocabulary] = {
    "US": CountryVocabulary(
        code="US",
        spellings=_items("United States, USA, US, U.S., United States of America, usa"),
        german_name="USA",
        calling_code="1",
        trunk_prefix="",
        national_length=10,
        mobile_prefixes=_items("212, 415, 646, 917, 312, 206, 512, 305"),
        mobile_length=10,
        phone_styles=_items(
            "nanp, nanp_dash, nanp_dots, nanp_plus1, e164, digits, nanp_ext, nanp_1dash"
        ),
        female_names=_items(
            "Mary, Patricia, Jennifer, Linda, Elizabeth, Barbara, Susan, Jessica, Sarah, Karen, "
            "Emily, Ashley, Megan, Katherine, Rebecca, Victoria, Margaret, Nancy"
        ),
        male_names=_items(
            "James, Robert, John, Michael, William, David, Richard, Joseph, Thomas, Christopher, "
            "Daniel, Matthew, Anthony, Andrew, Joshua, Benjamin, Nicholas, Samuel"
        ),
        last_names=_items(
            "Smith, Johnson, Williams, Brown, Jones, Garcia, Miller, Davis, Rodriguez, Martinez, "
            "Wilson, Anderson, Taylor, Thomas, Moore, Jackson, Lee, Thompson, White, Harris, "
            "Clark, Lewis, O'Neil, McDonald, O'Brien, de la Cruz, Nguyen, Kim, Patel, Sullivan"
        ),
        streets=_items(
            "Main St, Oak Avenue, Maple Ave, Elm Street, Washington Blvd, Park Ave, 5th Avenue, "
            "Sunset Blvd, Lake Shore Dr, Broadway, Pine St, Cedar Lane, Market Street, "
            "Mission St, Jefferson Road"
        ),
        street_format="{number} {street}",
        second_lines=_items("Apt #, Apt ##B, Suite ###, Unit #, Fl #"),
        cities=_cities("""
    New York      | NY | New York      | 100## | 212 | 40.71 | -74.01  | America/New_York
    Brooklyn      | NY | New York      | 112## | 718 | 40.68 | -73.94  | America/New_York
    Boston        | MA | Massachusetts | 021## | 617 | 42.36 | -71.06  | America/New_York
    Chicago       | IL | Illinois      | 606## | 312 | 41.88 | -87.63  | America/Chicago
    Austin        | TX | Texas         | 787## | 512 | 30.27 | -97.74  | America/Chicago
    Denver        | CO | Colorado      | 802## | 303 | 39.74 | -104.99 | America/Denver
    Seattle       | WA | Washington    | 981## | 206 | 47.61 | -122.33 | America/Los_Angeles
    San Francisco | CA | California    | 941## | 415 | 37.77 | -122.42 | America/Los_Angeles
    Los Angeles   | CA | California    | 900## | 213 | 34.05 | -118.24 | America/Los_Angeles
    Miami         | FL | Florida       | 331## | 305 | 25.76 | -80.19  | America/New_York
    Newark        | NJ | New Jersey    | 071## | 973 | 40.74 | -74.17  | America/New_York
        """),
        email_domains=_items(
            "gmail.com, yahoo.com, hotmail.com, outlook.com, icloud.com, aol.com, comcast.net"
        ),
        companies=_items(
            "Acme Corp.; Globex, Inc.; Initech LLC; Umbrella Holdings; Stark & Wayne Partners; "
            "Blue Ridge Outfitters; Pinecone Analytics, Inc.",
            sep=";",
        ),
        job_titles=(),
        currency="USD",
        date_order="MDY",
        date_separator="/",
    ),
    "GB": CountryVocabulary(
        code="GB",
        spellings=_items("United Kingdom, UK, GB, Great Britain, England, U.K."),
        german_name="Großbritannien",
        calling_code="44",
        trunk_prefix="0",
        national_length=10,
        mobile_prefixes=_items("7700, 7911, 7400, 7123, 7581"),
        mobile_length=10,
        phone_styles=_items("national, intl, intl_trunk, intl00, e164, digits"),
        female_names=_items(
            "Olivia, Amelia, Isla, Emily, Sophie, Zoë, Chloe, Charlotte, Lucy, Eleanor, Siobhan, "
            "Niamh, Aoife, Hannah, Katherine, Elizabeth, Margaret, Rebecca"
        ),
        male_names=_items(
            "Oliver, George, Harry, Jack, Charlie, Thomas, James, William, Ewan, Rhys, Callum, "
            "Łukasz, Mohammed, Alexander, Daniel, Samuel, Robert, Edward"
        ),
        last_names=_items(
            "Smith, Jones, Taylor, Brown, Williams, Wilson, Evans, Thomas, Roberts, Walker, "
            "Wright, Robinson, Thompson, White, Hughes, Edwards, Green, Hall, Wood, O'Neil, "
            "McDonald, MacLeod, Kowalski, Nowak, Khan, Patel, Davies, Fitzgerald"
        ),
        streets=_items(
            "High Street, Station Road, Church Lane, Victoria Road, Baker Street, King's Road, "
            "Queen's Gardens, Mill Lane, St John's Wood Road, Albert Embankment, Park Crescent"
        ),
        street_format="{number} {street}",
        second_lines=_items("Flat #, Flat ##, Unit #, #nd Floor"),
        cities=_cities("""
    London     | LND | Greater London     | SW1A #AA | 20  | 51.51 | -0.13 | Europe/London
    London     | LND | Greater London     | EC1V #BB | 20  | 51.52 | -0.10 | Europe/London
    Manchester | MAN | Greater Manchester | M1 #AE   | 161 | 53.48 | -2.24 | Europe/London
    Birmingham | BIR | West Midlands      | B1 #BB   | 121 | 52.49 | -1.89 | Europe/London
    Leeds      | LDS | West Yorkshire     | LS1 #UR  | 113 | 53.80 | -1.55 | Europe/London
    Edinburgh  | EDH | City of Edinburgh  | EH1 #YZ  | 131 | 55.95 | -3.19 | Europe/London
    Glasgow    | GLG | Glasgow City       | G1 #XQ   | 141 | 55.86 | -4.25 | Europe/London
    Bristol    | BST | Bristol            | BS1 #AW  | 117 | 51.45 | -2.59 | Europe/London
    Cardiff    | CRF | Cardiff            | CF10 #AU | 29  | 51.48 | -3.18 | Europe/London
    Belfast    | BFS | Belfast            | BT1 #LT  | 28  | 54.60 | -5.93 | Europe/London
        """),
        email_domains=_items(
            "gmail.com, hotmail.co.uk, yahoo.co.uk, btinternet.com, outlook.com, sky.com"
        ),
        companies=_items(
            "Brightwave Ltd; Thames & Kent Logistics plc; Hartley, Finch & Co.; "
            "Northgate Digital Ltd.; Wren & Sons Bakers",
            sep=";",
        ),
        job_titles=(),
        currency="GBP",
        date_order="DMY",
        date_separator="/",
    ),
    "DE": CountryVocabulary(
        code="DE",
        spellings=_items("Germany, Deutschland, DE, GER, germany, D"),
        german_name="Deutschland",
        calling_code="49",
        trunk_prefix="0",
        national_length=10,
        mobile_prefixes=_items("151, 160, 170, 171, 176, 179"),
        mobile_length=11,
        phone_styles=_items(
            "intl, national, national_slash, national_dash, intl_trunk, intl00, e164"
        ),
        female_names=_items(
            "Sabine, Ursula, Petra, Monika, Stefanie, Anja, Katrin, Susanne, Jana, Lena, Dörte, "
            "Anna, Julia, Christina, Elisabeth, Margarete, Franziska, Käthe"
        ),
        male_names=_items(
            "Jürgen, Klaus, Wolfgang, Stefan, Thomas, Michael, Andreas, Matthias, Jörg, Uwe, "
            "Lukas, Maximilian, Johannes, Hans-Peter, Björn, Günther, Karl-Heinz, Josef, "
            "Alexander"
        ),
        last_names=_items(
            "Müller, Schmidt, Schneider, Fischer, Weber, Meyer, Wagner, Becker, Schulz, "
            "Hoffmann, Schäfer, Koch, Bauer, Richter, Klein, Wolf, Schröder, Neumann, Schwarz, "
            "Zimmermann, Braun, Krüger, Hartmann, Lange, Werner, Krause, Lehmann, von Bülow, "
            "Groß, Weiß, Yılmaz, Öztürk, Kowalski"
        ),
        streets=_items(
            "Hauptstraße, Bahnhofstraße, Schillerstraße, Goethestr., Gartenweg, Lindenallee, "
            "Kurfürstendamm, Königsallee, Friedrichstraße, Mühlenweg, Am Markt, Schloßstraße, "
            "Schulstr."
        ),
        street_format="{street} {number}",
        second_lines=_items("#. OG, Hinterhaus, c/o Schmidt, Whg. #, Aufgang B"),
        cities=_cities("""
    Berlin            | BE | Berlin              | 10### | 30  | 52.52 | 13.40 | Europe/Berlin
    Hamburg           | HH | Hamburg             | 20### | 40  | 53.55 | 9.99  | Europe/Berlin
    München           | BY | Bayern              | 80### | 89  | 48.14 | 11.58 | Europe/Berlin
    Köln              | NW | Nordrhein-Westfalen | 50### | 221 | 50.94 | 6.96  | Europe/Berlin
    Frankfurt am Main | HE | Hessen              | 60### | 69  | 50.11 | 8.68  | Europe/Berlin
    Stuttgart         | BW | Baden-Württemberg   | 70### | 711 | 48.78 | 9.18  | Europe/Berlin
    Düsseldorf        | NW | Nordrhein-Westfalen | 40### | 211 | 51.23 | 6.77  | Europe/Berlin
    Leipzig           | SN | Sachsen             | 04### | 341 | 51.34 | 12.37 | Europe/Berlin
    Dresden           | SN | Sachsen             | 01### | 351 | 51.05 | 13.74 | Europe/Berlin
    Nürnberg          | BY | Bayern              | 90### | 911 | 49.45 | 11.08 | Europe/Berlin
    Bremen            | HB | Bremen              | 28### | 421 | 53.08 | 8.80  | Europe/Berlin
        """),
        email_domains=_items(
            "gmail.com, web.de, gmx.de, t-online.de, gmx.net, googlemail.com, outlook.de"
        ),
        companies=_items(
            "Müller Maschinenbau GmbH; Schäfer & Söhne KG; Bäckerei Weiß; Nordlicht Software AG; "
            "Grünwald Logistik GmbH & Co. KG",
            sep=";",
        ),
        job_titles=_items(
            "Geschäftsführer, Einkaufsleiter, Vertriebsleiterin, Sachbearbeiter, Prokurist"
        ),
        currency="EUR",
        date_order="DMY",
        date_separator=".",
    ),
    "FR": CountryVocabulary(
        code="FR",
        spellings=_items("France, FR, FRANCE, Frankreich, france"),
        german_name="Frankreich",
        calling_code="33",
        trunk_prefix="0",
        national_length=9,
        mobile_prefixes=_items("6, 7"),
        mobile_length=9,
        phone_styles=_items("pairs, intl_pairs, dot_pairs, e164, intl00"),
        female_names=_items(
            "Marie, Nathalie, Isabelle, Sylvie, Catherine, Céline, Émilie, Chloé, Léa, Manon, "
            "Camille, Anaïs, Noémie, Zoë, Hélène, Élisabeth, Marguerite, Océane"
        ),
        male_names=_items(
            "François, Jean, Pierre, Michel, Philippe, Alain, Nicolas, Julien, Sébastien, "
            "Guillaume, Jérôme, Stéphane, Thomas, Alexandre, Christophe, Benoît, Frédéric, Loïc"
        ),
        last_names=_items(
            "Martin, Bernard, Dubois, Thomas, Robert, Richard, Petit, Durand, Leroy, Moreau, "
            "Simon, Laurent, Lefèvre, Michel, Garcia, David, Bertrand, Roux, Vincent, Fournier, "
            "Morel, Girard, André, Mercier, Dupont, Lambert, Bonnet, François, Le Gall, "
            "de la Fontaine, d'Arcy"
        ),
        streets=_items(
            "rue de la Paix, avenue des Champs-Élysées, boulevard Haussmann, "
            "rue du Faubourg Saint-Honoré, rue Victor Hugo, place Bellecour, rue de Rivoli, "
            "allée des Tilleuls, chemin des Vignes, quai de la Loire"
        ),
        street_format="{number} {street}",
        second_lines=_items("Bât. B, Apt ##, #e étage, Résidence Les Lilas"),
        cities=_cities("""
    Paris         | IDF | Île-de-France              | 750## | 1 | 48.86 | 2.35  | Europe/Paris
    Lyon          | ARA | Auvergne-Rhône-Alpes       | 6900# | 4 | 45.76 | 4.84  | Europe/Paris
    Marseille     | PAC | Provence-Alpes-Côte d'Azur | 130## | 4 | 43.30 | 5.37  | Europe/Paris
    Toulouse      | OCC | Occitanie                  | 310## | 5 | 43.60 | 1.44  | Europe/Paris
    Bordeaux      | NAQ | Nouvelle-Aquitaine         | 330## | 5 | 44.84 | -0.58 | Europe/Paris
    Lille         | HDF | Hauts-de-France            | 590## | 3 | 50.63 | 3.06  | Europe/Paris
    Nantes        | PDL | Pays de la Loire           | 440## | 2 | 47.22 | -1.55 | Europe/Paris
    Strasbourg    | GES | Grand Est                  | 670## | 3 | 48.57 | 7.75  | Europe/Paris
    Saint-Étienne | ARA | Auvergne-Rhône-Alpes       | 420## | 4 | 45.44 | 4.39  | Europe/Paris
        """),
        email_domains=_items(
            "gmail.com, orange.fr, free.fr, laposte.net, hotmail.fr, wanadoo.fr, sfr.fr"
        ),
        companies=_items(
            "Lefèvre & Fils SARL; Société des Eaux Bleues; Atelier Côté Jardin; "
            "Boulangerie Dupont; Girard Conseil SAS",
            sep=";",
        ),
        job_titles=_items("Directeur commercial, Responsable achats, Chef de projet, Gérante"),
        currency="EUR",
        date_order="DMY",
        date_separator="/",
    ),
    "ES": CountryVocabulary(
        code="ES",
        spellings=_items("Spain, España, ES, Espana, spain"),
        german_name="Spanien",
        calling_code="34",
        trunk_prefix="",
        national_length=9,
        mobile_prefixes=_items("6, 7"),
        mobile_length=9,
        phone_styles=_items("national, intl, e164, intl00, digits"),
        female_names=_items(
            "María, Carmen, Ana, Isabel, Dolores, Pilar, Teresa, Laura, Lucía, Cristina, Marta, "
            "Elena, Inés, Begoña, Concepción, Montserrat, Rocío, Elisabet"
        ),
        male_names=_items(
            "José, Antonio, Manuel, Francisco, Juan, David, Javier, Daniel, Carlos, Jesús, "
            "Alejandro, Miguel, Rafael, Pablo, Sergio, Ignacio, Enrique, Íñigo"
        ),
        last_names=_items(
            "García, Rodríguez, González, Fernández, López, Martínez, Sánchez, Pérez, Gómez, "
            "Martín, Jiménez, Ruiz, Hernández, Díaz, Moreno, Muñoz, Álvarez, Romero, Núñez, "
            "de la Cruz, Ibáñez, Peña, Castaño, Ortega, Rubio, Navarro, Domínguez, Gil, Serrano"
        ),
        streets=_items(
            "Calle Mayor, Gran Vía, Calle de Alcalá, Paseo de la Castellana, Avenida Diagonal, "
            "Calle Sierpes, Rambla de Catalunya, Calle Larios, Plaza de España, Calle del Pez"
        ),
        street_format="{street}, {number}",
        second_lines=_items("#º #ª; Piso #, puerta #; Bajo B; Escalera #", sep=";"),
        cities=_cities("""
    Madrid    | MD | Comunidad de Madrid  | 280## | 91  | 40.42 | -3.70 | Europe/Madrid
    Barcelona | CT | Cataluña             | 080## | 93  | 41.39 | 2.17  | Europe/Madrid
    Valencia  | VC | Comunitat Valenciana | 460## | 96  | 39.47 | -0.38 | Europe/Madrid
    Sevilla   | AN | Andalucía            | 410## | 95  | 37.39 | -5.98 | Europe/Madrid
    Málaga    | AN | Andalucía            | 290## | 95  | 36.72 | -4.42 | Europe/Madrid
    Bilbao    | PV | País Vasco           | 480## | 94  | 43.26 | -2.93 | Europe/Madrid
    Zaragoza  | AR | Aragón               | 500## | 976 | 41.65 | -0.89 | Europe/Madrid
    A Coruña  | GA | Galicia              | 150## | 981 | 43.36 | -8.41 | Europe/Madrid
    Palma     | IB | Illes Balears        | 070## | 971 | 39.57 | 2.65  | Europe/Madrid
        """),
        email_domains=_items("gmail.com, hotmail.es, yahoo.es, outlook.es, telefonica.net"),
        companies=_items(
            "Núñez y Asociados S.L.; Construcciones Peña S.A.; Café de la Cruz; "
            "Distribuciones Ibáñez S.L.",
            sep=";",
        ),
        job_titles=_items("Director general, Jefe de compras, Responsable de marketing"),
        currency="EUR",
        date_order="DMY",
        date_separator="/",
    ),
    "NL": CountryVocabulary(
        code="NL",
        spellings=_items("Netherlands, The Netherlands, Nederland, NL, Holland"),
        german_name="Niederlande",
        calling_code="31",
        trunk_prefix="0",
        national_length=9,
        mobile_prefixes=("6",),
        mobile_length=9,
        phone_styles=_items("national_dash, national, intl, intl_trunk, e164"),
        female_names=_items(
            "Anouk, Sanne, Lotte, Femke, Eva, Marieke, Ingrid, Fleur, Noor, Saskia, Maaike, Iris, "
            "Anna, Johanna, Elisabeth, Margriet, Ilse, Wilhelmina"
        ),
        male_names=_items(
            "Jan, Pieter, Hendrik, Cornelis, Johannes, Willem, Gerrit, Sander, Bram, Daan, Thijs, "
            "Joost, Ruud, Bas, Maarten, Jeroen, Koen, Frederik"
        ),
        last_names=_items(
            "de Jong, Jansen, de Vries, van den Berg, van der Berg, van Dijk, Bakker, Janssen, "
            "Visser, Smit, Meijer, de Boer, Mulder, de Groot, Bos, Vos, Peters, Hendriks, "
            "van Leeuwen, Dekker, Brouwer, de Wit, Dijkstra, Smits, van der Meer, van 't Hof, "
            "IJzerman"
        ),
        streets=_items(
            "Keizersgracht, Prinsengracht, Damrak, Kalverstraat, Coolsingel, Lange Voorhout, "
            "Oudegracht, Stationsplein, Dorpsstraat, Kerkstraat"
        ),
        street_format="{street} {number}",
        second_lines=_items("#-hoog, #e verdieping, bus #, huis"),
        cities=_cities("""
    Amsterdam | NH | Noord-Holland | 10## AB | 20 | 52.37 | 4.90 | Europe/Amsterdam
    Rotterdam | ZH | Zuid-Holland  | 30## CD | 10 | 51.92 | 4.48 | Europe/Amsterdam
    Den Haag  | ZH | Zuid-Holland  | 25## EK | 70 | 52.08 | 4.30 | Europe/Amsterdam
    Utrecht   | UT | Utrecht       | 35## GH | 30 | 52.09 | 5.12 | Europe/Amsterdam
    Eindhoven | NB | Noord-Brabant | 56## JK | 40 | 51.44 | 5.47 | Europe/Amsterdam
    Groningen | GR | Groningen     | 97## LM | 50 | 53.22 | 6.57 | Europe/Amsterdam
        's-Hertogenbosch | NB | Noord-Brabant | 52## NP | 73 | 51.69 | 5.30 | Europe/Amsterdam
        """),
        email_domains=_items("gmail.com, ziggo.nl, kpnmail.nl, hotmail.nl, outlook.com, xs4all.nl"),
        companies=_items(
            "Van der Berg Logistiek B.V.; De Groot Bloemen B.V.; IJzerman Techniek; Bakker & Zn.",
            sep=";",
        ),
        job_titles=_items("Inkoper, Directeur, Projectleider"),
        currency="EUR",
        date_order="DMY",
        date_separator="-",
    ),
    "IT": CountryVocabulary(
        code="IT",
        spellings=_items("Italy, Italia, IT, ITALY"),
        german_name="Italien",
        calling_code="39",
        trunk_prefix="",
        national_length=10,
        mobile_prefixes=_items("333, 347, 320, 339, 348"),
        mobile_length=10,
        phone_styles=_items("national, intl, e164, intl00, digits"),
        female_names=_items(
            "Maria, Anna, Giulia, Francesca, Chiara, Sara, Martina, Valentina, Alessia, Federica, "
            "Elisa, Giorgia, Elisabetta, Margherita, Caterina, Beatrice, Rosa, Lucia"
        ),
        male_names=_items(
            "Giuseppe, Giovanni, Antonio, Mario, Luigi, Francesco, Alessandro, Andrea, Marco, "
            "Matteo, Lorenzo, Stefano, Niccolò, Roberto, Massimo, Salvatore, Vincenzo, Davide"
        ),
        last_names=_items(
            "Rossi, Russo, Ferrari, Esposito, Bianchi, Romano, Colombo, Ricci, Marino, Greco, "
            "Bruno, Gallo, Conti, De Luca, Mancini, Costa, Giordano, Rizzo, Lombardi, Moretti, "
            "Barbieri, Fontana, Santoro, Mariani, Rinaldi, Caruso, D'Angelo, Dell'Acqua, Fabbri"
        ),
        streets=_items(
            "Via Roma, Via del Corso, Corso Vittorio Emanuele II, Via Garibaldi, Via Dante, "
            "Piazza Navona, Via Toledo, Via Montenapoleone, Viale dei Mille, Via Po"
        ),
        street_format="{street}, {number}",
        second_lines=_items("Scala B, int. #; Interno #; Piano #", sep=";"),
        cities=_cities("""
    Roma    | RM | Lazio          | 001## | 06   | 41.90 | 12.50 | Europe/Rome
    Milano  | MI | Lombardia      | 201## | 02   | 45.46 | 9.19  | Europe/Rome
    Napoli  | NA | Campania       | 801## | 081  | 40.85 | 14.27 | Europe/Rome
    Torino  | TO | Piemonte       | 101## | 011  | 45.07 | 7.69  | Europe/Rome
    Firenze | FI | Toscana        | 501## | 055  | 43.77 | 11.26 | Europe/Rome
    Bologna | BO | Emilia-Romagna | 401## | 051  | 44.49 | 11.34 | Europe/Rome
    Venezia | VE | Veneto         | 301## | 041  | 45.44 | 12.32 | Europe/Rome
    Palermo | PA | Sicilia        | 901## | 091  | 38.12 | 13.36 | Europe/Rome
    Forlì   | FC | Emilia-Romagna | 471## | 0543 | 44.22 | 12.04 | Europe/Rome
        """),
        email_domains=_items("gmail.com, libero.it, virgilio.it, hotmail.it, tiscali.it, alice.it"),
        companies=_items(
            "Rossi & Figli S.r.l.; Trattoria Da Mario; Ferrari Arredamenti S.p.A.; Studio Bianchi",
            sep=";",
        ),
        job_titles=_items("Responsabile acquisti, Amministratore delegato, Direttore vendite"),
        currency="EUR",
        date_order="DMY",
        date_separator="/",
    ),
    "CA": CountryVocabulary(
        code="CA",
        spellings=_items("Canada, CA, CAN, canada"),
        german_name="Kanada",
        calling_code="1",
        trunk_prefix="",
        national_length=10,
        mobile_prefixes=_items("416, 647, 514, 438, 604, 778"),
        mobile_length=10,
        phone_styles=_items("nanp, nanp_dash, nanp_plus1, e164, nanp_dots, nanp_1dash"),
        female_names=_items(
            "Emma, Olivia, Charlotte, Chloé, Léa, Sophie, Ava, Amelia, Maëlle, Zoé, Megan, "
            "Hannah, Elizabeth, Katherine, Geneviève, Isabelle, Madison, Abigail"
        ),
        male_names=_items(
            "Liam, Noah, Ethan, Lucas, Benjamin, Olivier, Félix, William, Samuel, Gabriel, "
            "Jean-François, Mathieu, Robert, Michael, Alexandre, Nathan, Logan, Owen"
        ),
        last_names=_items(
            "Smith, Brown, Tremblay, Martin, Roy, Gagnon, Lee, Wilson, Johnson, MacDonald, "
            "Taylor, Campbell, Anderson, Côté, Bouchard, Gauthier, Morin, Lavoie, Fortin, Gagné, "
            "Ouellet, Pelletier, Bélanger, Lévesque, O'Neil, Singh, Chen, Wong"
        ),
        streets=_items(
            "Yonge Street, Rue Sainte-Catherine, Robson Street, King Street West, "
            "Rue Saint-Denis, Granville Street, Queen Street East, Spring Garden Road, "
            "Portage Avenue"
        ),
        street_format="{number} {street}",
        second_lines=_items("Suite ###, App. #, Unit ##"),
        cities=_cities("""
    Toronto   | ON | Ontario          | M5V #T6 | 416 | 43.65 | -79.38  | America/Toronto
    Montréal  | QC | Québec           | H2X #Y4 | 514 | 45.50 | -73.57  | America/Toronto
    Vancouver | BC | British Columbia | V6B #K9 | 604 | 49.28 | -123.12 | America/Vancouver
    Calgary   | AB | Alberta          | T2P #M5 | 403 | 51.05 | -114.07 | America/Edmonton
    Ottawa    | ON | Ontario          | K1P #B3 | 613 | 45.42 | -75.70  | America/Toronto
    Québec    | QC | Québec           | G1R #P5 | 418 | 46.81 | -71.21  | America/Toronto
    Halifax   | NS | Nova Scotia      | B3J #A5 | 902 | 44.65 | -63.58  | America/Halifax
    Winnipeg  | MB | Manitoba         | R3C #T3 | 204 | 49.90 | -97.14  | America/Winnipeg
        """),
        email_domains=_items(
            "gmail.com, hotmail.com, shaw.ca, rogers.com, sympatico.ca, videotron.ca"
        ),
        companies=_items(
            "Maple Leaf Outfitters Inc.; Tremblay & Fils Ltée; Northern Lights Media; "
            "Gagnon Construction",
            sep=";",
        ),
        job_titles=_items("Directrice des ventes"),
        currency="CAD",
        date_order="YMD",
        date_separator="-",
    ),
    "AU": CountryVocabulary(
        code="AU",
        spellings=_items("Australia, AU, AUS, Aus"),
        german_name="Australien",
        calling_code="61",
        trunk_prefix="0",
        national_length=9,
        mobile_prefixes=_items("412, 413, 400, 423, 438"),
        mobile_length=9,
        phone_styles=_items("national_paren, intl, national, e164, digits"),
        female_names=_items(
            "Charlotte, Olivia, Mia, Ava, Chloe, Isla, Matilda, Sienna, Ruby, Grace, Zoë, "
            "Bronwyn, Kylie, Elizabeth, Rebecca, Jessica, Emily, Sarah"
        ),
        male_names=_items(
            "Jack, Oliver, William, Noah, Thomas, James, Lachlan, Cooper, Riley, Ethan, Shane, "
            "Darren, Robert, Michael, Matthew, Benjamin, Nicholas, Daniel"
        ),
        last_names=_items(
            "Smith, Jones, Williams, Brown, Wilson, Taylor, Johnson, White, Martin, Anderson, "
            "Thompson, Nguyen, Thomas, Walker, Harris, Lee, Ryan, Robinson, Kelly, King, "
            "O'Neil, McDonald, Papadopoulos, Tran, Murphy"
        ),
        streets=_items(
            "George Street, Collins Street, Queen Street, Hay Street, Rundle Mall, Pitt Street, "
            "Elizabeth St, Flinders Lane, Chapel Street"
        ),
        street_format="{number} {street}",
        second_lines=_items("Unit #, Level #, Unit ##"),
        cities=_cities("""
    Sydney    | NSW | New South Wales   | 2### | 2 | -33.87 | 151.21 | Australia/Sydney
    Melbourne | VIC | Victoria          | 3### | 3 | -37.81 | 144.96 | Australia/Melbourne
    Brisbane  | QLD | Queensland        | 4### | 7 | -27.47 | 153.03 | Australia/Brisbane
    Perth     | WA  | Western Australia | 6### | 8 | -31.95 | 115.86 | Australia/Perth
    Adelaide  | SA  | South Australia   | 5### | 8 | -34.93 | 138.60 | Australia/Adelaide
    Hobart    | TAS | Tasmania          | 7### | 3 | -42.88 | 147.33 | Australia/Hobart
    Canberra  | ACT | Australian Capital Territory | 26## | 2 | -35.28 | 149.13 | Australia/Sydney
        """),
        email_domains=_items("gmail.com, bigpond.com, outlook.com.au, optusnet.com.au, icloud.com"),
        companies=_items(
            "Kookaburra Coffee Pty Ltd; Southern Cross Surf Co.; Outback Solar Pty. Ltd.; "
            "Harbour Bridge Legal",
            sep=";",
        ),
        job_titles=(),
        currency="AUD",
        date_order="DMY",
        date_separator="/",
    ),
}

JOB_TITLES = _items(
    "Marketing Manager, Head of Sales, CEO, Founder, Software Engineer, Purchasing Manager, "
    "Office Manager, CFO, Account Executive, Operations Director, Buyer, "
    "Customer Success Manager, Data Analyst, Product Manager, Consultant, VP Marketing, "
    "Store Manager, Procurement Lead"
)


def _nicknames(table: str) -> dict[str, tuple[str, ...]]:
    """Parse "Given: Short, Short" lines."""
    pairs = (line.split(":") for line in table.strip().splitlines())
    return {given.strip(): _items(short) for given, short in pairs}


# Short forms people use in one system and not another. Curated per language rather than the
# loose reverse lookups of English nickname lists (DESIGN.md, lessons on matching).
NICKNAMES: dict[str, tuple[str, ...]] = _nicknames("""
    Robert: Bob, Rob, Bobby
    Elizabeth: Liz, Beth, Lizzie
    William: Bill, Will
    Katherine: Kate, Katie, Kathy
    Margaret: Maggie, Meg, Peggy
    Michael: Mike
    Jennifer: Jen, Jenny
    Alexander: Alex
    Christopher: Chris
    Daniel: Dan, Danny
    Thomas: Tom
    Anthony: Tony
    Benjamin: Ben
    Samuel: Sam
    Nicholas: Nick
    Matthew: Matt
    Andrew: Andy, Drew
    Joshua: Josh
    James: Jim, Jimmy
    Richard: Rich, Rick
    Joseph: Joe
    Edward: Ed, Ted
    Victoria: Vicky, Tori
    Rebecca: Becky
    Jessica: Jess
    Patricia: Pat, Trish
    Susan: Sue
    Eleanor: Ellie
    Abigail: Abby
    Johannes: Hannes, Hans, Jan
    Wolfgang: Wolf
    Josef: Sepp
    Stefanie: Steffi
    Maximilian: Max
    Christina: Tina
    Susanne: Susi
    Franziska: Franzi
    Elisabeth: Lisa, Els
    Margarete: Grete
    Andreas: Andi
    Alexandre: Alex
    Christophe: Chris
    Frédéric: Fred
    Nicolas: Nico
    Catherine: Cathy
    Isabelle: Isa
    Marguerite: Margot
    Francisco: Paco, Fran, Curro
    José: Pepe
    Manuel: Manolo
    Dolores: Lola
    Concepción: Concha
    Enrique: Quique
    Ignacio: Nacho
    Montserrat: Montse
    Antonio: Toni
    Cornelis: Kees
    Hendrik: Henk
    Willem: Wim
    Pieter: Piet
    Frederik: Freek
    Johanna: Jo, Hanna
    Giuseppe: Beppe, Peppe, Pino
    Giovanni: Gianni
    Francesco: Franco
    Alessandro: Sandro
    Salvatore: Totò, Salvo
    Vincenzo: Enzo
    Elisabetta: Betta
    Massimo: Max
    Jean-François: J-F, Jean-Francois
    Geneviève: Gen
""")

# English names for cities that exports from English-language tools use.
CITY_EXONYMS: dict[str, str] = {
    "München": "Munich",
    "Köln": "Cologne",
    "Nürnberg": "Nuremberg",
    "Roma": "Rome",
    "Milano": "Milan",
    "Napoli": "Naples",
    "Torino": "Turin",
    "Firenze": "Florence",
    "Venezia": "Venice",
    "Sevilla": "Seville",
    "Den Haag": "The Hague",
    "Montréal": "Montreal",
    "Québec": "Quebec City",
    "A Coruña": "La Coruña",
}

# Standard and daylight-saving offsets from UTC in hours (what Mailchimp calls GMTOFF/DSTOFF).
TIMEZONE_OFFSETS: dict[str, tuple[float, float]] = {
    "America/New_York": (-5, -4),
    "America/Chicago": (-6, -5),
    "America/Denver": (-7, -6),
    "America/Los_Angeles": (-8, -7),
    "America/Toronto": (-5, -4),
    "America/Vancouver": (-8, -7),
    "America/Edmonton": (-7, -6),
    "America/Halifax": (-4, -3),
    "America/Winnipeg": (-6, -5),
    "Europe/London": (0, 1),
    "Europe/Berlin": (1, 2),
    "Europe/Paris": (1, 2),
    "Europe/Madrid": (1, 2),
    "Europe/Amsterdam": (1, 2),
    "Europe/Rome": (1, 2),
    "Australia/Sydney": (10, 11),
    "Australia/Melbourne": (10, 11),
    "Australia/Brisbane": (10, 10),
    "Australia/Perth": (8, 8),
    "Australia/Adelaide": (9.5, 10.5),
    "Australia/Hobart": (10, 11),
}

# ---------------------------------------------------------------------------- phone styles


def _group(digits: str) -> str:
    """Group subscriber digits the way people write them: 1234 5678, 123 4567, 123 456."""
    if len(digits) <= 4:
        return digits
    if len(digits) % 4 == 0:
        return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))
    return f"{digits[:3]} {_group(digits[3:])}"


def _pairs(digits: str, sep: str = " ") -> str:
    """Write digits in pairs, French style: 01 23 45 67 89."""
    return sep.join(digits[i : i + 2] for i in range(0, len(digits), 2))


def _nanp(p: Phone, a: str, b: str) -> str:
    """North American number with separators `a` (after the area code) and `b`."""
    return f"{p.area}{a}{p.subscriber[:3]}{b}{p.subscriber[3:]}"


# How systems write a phone number. Formatters only slice and group digits, which is what lets
# the benchmark generator turn them into templates.
PHONE_FORMATS: dict[str, Callable[[Phone], str]] = {
    "e164": lambda p: f"+{p.calling_code}{p.area}{p.subscriber}",
    "digits": lambda p: f"{p.trunk}{p.area}{p.subscriber}",
    "intl": lambda p: f"+{p.calling_code} {p.area} {_group(p.subscriber)}",
    "intl00": lambda p: f"00{p.calling_code} {p.area} {_group(p.subscriber)}",
    "intl_trunk": lambda p: f"+{p.calling_code} ({p.trunk}){p.area} {_group(p.subscriber)}",
    "national": lambda p: f"{p.trunk}{p.area} {_group(p.subscriber)}",
    "national_slash": lambda p: f"{p.trunk}{p.area}/{p.subscriber}",
    "national_dash": lambda p: f"{p.trunk}{p.area}-{p.subscriber}",
    "national_paren": lambda p: f"({p.trunk}{p.area}) {_group(p.subscriber)}",
    "pairs": lambda p: _pairs(f"{p.trunk}{p.area}{p.subscriber}"),
    "dot_pairs": lambda p: _pairs(f"{p.trunk}{p.area}{p.subscriber}", "."),
    "intl_pairs": lambda p: f"+{p.calling_code} {p.area} {_pairs(p.subscriber)}",
    "nanp": lambda p: f"({p.area}) {p.subscriber[:3]}-{p.subscriber[3:]}",
    "nanp_dash": lambda p: _nanp(p, "-", "-"),
    "nanp_dots": lambda p: _nanp(p, ".", "."),
    "nanp_ext": lambda p: f"{_nanp(p, '.', '.')} x{p.subscriber[-2:]}",
    "nanp_plus1": lambda p: f"+1 {_nanp(p, '-', '-')}",
    "nanp_1dash": lambda p: f"1-{_nanp(p, '-', '-')}",
}


def format_phone(phone: Phone, style: str) -> str:
    """Write `phone` in one of the `PHONE_FORMATS` styles (e.g. "intl", "nanp").

    Formatters only slice and group the subscriber digits, so a subscriber of '#' characters
    yields a template (the benchmark generator fills it with digits in bulk).
    """
    return PHONE_FORMATS[style](phone)


# ------------------------------------------------------------------------- text folding

_FOLD_EXTRA = str.maketrans(
    {
        "ß": "ss",
        "ł": "l",
        "Ł": "L",
        "ı": "i",
        "ø": "o",
        "Ø": "O",
        "æ": "ae",
        "Æ": "Ae",
        "œ": "oe",
        "Œ": "Oe",
    }
)
_GERMAN_TRANSLITERATION = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"}
)


def strip_accents(text: str) -> str:
    """Drop diacritics the way ASCII-only systems do: Müller -> Muller, Łukasz -> Lukasz."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD_EXTRA))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def transliterate_german(text: str) -> str:
    """Spell umlauts the German way: Müller -> Mueller, Weiß -> Weiss."""
    return strip_accents(text.translate(_GERMAN_TRANSLITERATION))


def email_slug(name: str, *, german: bool = False) -> str:
    """Turn a name into the letters an email local part keeps: "O'Neil" -> "oneil"."""
    folded = transliterate_german(name) if german else strip_accents(name)
    return "".join(ch for ch in folded.lower() if "a" <= ch <= "z")


def fill_digits(rng: random.Random, template: str) -> str:
    """Replace each '#' in `template` with a random digit."""
    return "".join(str(rng.randrange(10)) if ch == "#" else ch for ch in template)


# =============================================================================================
# The story: one population, the companies some of them work for, and two years of business
# =============================================================================================

SEED = 2024
START = datetime(2023, 6, 1, tzinfo=UTC)
END = datetime(2025, 6, 1, tzinfo=UTC)  # exclusive: the demo's "today"

# Where the shop's people live (a European shop that also sells overseas).
COUNTRY_WEIGHTS: dict[str, int] = {
    "DE": 24,
    "US": 18,
    "GB": 14,
    "FR": 10,
    "NL": 9,
    "ES": 8,
    "IT": 7,
    "CA": 5,
    "AU": 5,
}

# How many people play each part. Shop customers = B2C + B2B_IN_SHOP, and so on; the sizes
# are chosen so every file lands near the row count DESIGN.md's demo asks for.
B2B_PEOPLE = 212  # work at one of B2B_COMPANIES; all but MESSE_ONLY are Salesforce leads
MESSE_ONLY = 22  # met at the trade fair, never entered into Salesforce
B2B_IN_SHOP = 40  # also buy from the shop privately, under a personal email
B2C_PEOPLE = 355
NEWSLETTER_ONLY = 60
SUPPORT_ONLY = 12  # wrote to support before (or without) buying
HOUSEHOLDS = 12  # partners sharing address and landline with a shop customer
NAMESAKES = 8  # strangers with exactly the name of someone else in the data
PARTNERS_ONLY_SUBSCRIBED = 4  # of the partners, those on the newsletter but not in the shop
NAMESAKES_ONLY_SUBSCRIBED = 3
SHOP_DUPLICATES = 5  # customers who opened a second account under another email
NEWSLETTER_FROM_SHOP = 270
NEWSLETTER_FROM_LEADS = 12
LEAD_DUPLICATES = 10
MESSE_FROM_LEADS = 51
MESSE_DUPLICATES = 4  # badge scanned twice
TICKETS = 300
SUPPORT_FROM_SHOP = 165
SUPPORT_FROM_NEWSLETTER = 10
SUPPORT_FROM_LEADS = 6


class Address(NamedTuple):
    """A postal address as the person would write it."""

    street: str
    street2: str
    city: City
    postcode: str


class CompanySpec(NamedTuple):
    """A B2B customer company and how sources spell it."""

    name: str
    variants: tuple[str, ...]  # other spellings seen in sources
    domain: str
    country: str
    industry: str
    employees: int
    email_pattern: str  # "first.last", "f.last", "first", "flast"
    role_mailbox: str  # "" or a shared mailbox some employees give out (info@, contact@)


# Small companies whose staff hand out the shared mailbox instead of their own address.
ROLE_MAILBOXES = {
    "Bäckerei Weiß": "info",
    "Lefèvre & Fils SARL": "contact",
    "Atelier Côté Jardin": "contact",
}


def _companies(table: str, variants: dict[str, str]) -> tuple[CompanySpec, ...]:
    """Parse the `|`-separated company table; `variants` maps a name to "; "-joined spellings."""
    specs = []
    for line in table.strip().splitlines():
        name, domain, country, industry, size, pattern = (c.strip() for c in line.split("|"))
        spellings = _items(variants[name], sep=";")
        mailbox = ROLE_MAILBOXES.get(name, "")
        specs.append(
            CompanySpec(name, spellings, domain, country, industry, int(size), pattern, mailbox)
        )
    return tuple(specs)


B2B_COMPANIES: tuple[CompanySpec, ...] = _companies(
    """
    Müller Maschinenbau GmbH        | mueller-maschinenbau.de | DE | Machinery   | 240  | f.last
    Nordlicht Software AG           | nordlicht-software.de   | DE | Software    | 85   | first.last
    Grünwald Logistik GmbH & Co. KG | gruenwald-logistik.de   | DE | Logistics   | 410  | first.last
    Bäckerei Weiß                   | baeckerei-weiss.de      | DE | Food        | 12   | first
    Schäfer & Söhne KG              | schaefer-soehne.de      | DE | Building    | 60   | f.last
    Brightwave Ltd                  | brightwave.co.uk        | GB | Marketing   | 35   | first
    Thames & Kent Logistics plc     | tklogistics.co.uk       | GB | Logistics   | 1200 | first.last
    Hartley, Finch & Co.            | hartleyfinch.co.uk      | GB | Legal       | 48   | flast
    Acme Corporation                | acme-corp.com           | US | Industrial  | 5000 | first.last
    Globex, Inc.                    | globex-inc.com          | US | Energy      | 2300 | flast
    Pinecone Analytics, Inc.        | pinecone-analytics.io   | US | Software    | 140  | first
    Blue Ridge Outfitters LLC       | blueridgeoutfitters.com | US | Retail      | 75   | first.last
    Lefèvre & Fils SARL             | lefevre-fils.fr         | FR | Wholesale   | 28   | first.last
    Atelier Côté Jardin             | cotejardin.fr           | FR | Retail      | 9    | first
    Núñez y Asociados S.L.          | nunezasociados.es       | ES | Consulting  | 22   | f.last
    Van der Berg Logistiek B.V.     | vdberg-logistiek.nl     | NL | Logistics   | 180  | first.last
    IJzerman Techniek               | ijzerman-techniek.nl    | NL | Engineering | 55   | flast
    Rossi & Figli S.r.l.            | rossifigli.it           | IT | Furniture   | 70   | f.last
    Maple Leaf Outfitters Inc.      | mapleleafoutfitters.ca  | CA | Retail      | 260  | first.last
    Kookaburra Coffee Pty Ltd       | kookaburracoffee.com.au | AU | Food        | 40   | first
    """,
    {
        "Müller Maschinenbau GmbH": "Mueller Maschinenbau; MÜLLER MASCHINENBAU GMBH; Müller "
        "Maschinenbau",
        "Nordlicht Software AG": "Nordlicht Software; nordlicht software ag",
        "Grünwald Logistik GmbH & Co. KG": "Gruenwald Logistik; Grünwald Logistik GmbH",
        "Bäckerei Weiß": "Baeckerei Weiss; Bäckerei Weiss",
        "Schäfer & Söhne KG": "Schaefer & Soehne; Schäfer und Söhne",
        "Brightwave Ltd": "Brightwave Limited; BrightWave; Brightwave Ltd.",
        "Thames & Kent Logistics plc": "Thames and Kent Logistics; T&K Logistics",
        "Hartley, Finch & Co.": "Hartley Finch & Co; Hartley Finch",
        "Acme Corporation": "Acme Corp.; ACME; Acme Corp",
        "Globex, Inc.": "Globex Inc; Globex",
        "Pinecone Analytics, Inc.": "Pinecone Analytics; PineCone Analytics Inc.",
        "Blue Ridge Outfitters LLC": "Blue Ridge Outfitters; BlueRidge Outfitters",
        "Lefèvre & Fils SARL": "Lefevre et Fils; Lefèvre et Fils; LEFEVRE & FILS",
        "Atelier Côté Jardin": "Atelier Cote Jardin; Côté Jardin",
        "Núñez y Asociados S.L.": "Nunez y Asociados; Núñez & Asociados; NUÑEZ Y ASOCIADOS SL",
        "Van der Berg Logistiek B.V.": "Van der Berg Logistiek; vd Berg Logistiek BV; "
        "VanDerBerg Logistiek",
        "IJzerman Techniek": "Ijzerman Techniek B.V.; IJZERMAN TECHNIEK",
        "Rossi & Figli S.r.l.": "Rossi e Figli; Rossi & Figli Srl; ROSSI & FIGLI",
        "Maple Leaf Outfitters Inc.": "Maple Leaf Outfitters; MapleLeaf Outfitters",
        "Kookaburra Coffee Pty Ltd": "Kookaburra Coffee; Kookaburra Coffee Pty. Ltd.",
    },
)


class Showcase(NamedTuple):
    """A person the demo and README point at, so every kind of mess is there for sure."""

    first: str
    nickname: str | None
    last: str
    country: str
    gender: str
    company: str | None  # name of a B2B_COMPANIES entry
    sources: tuple[str, ...]  # "shop", "newsletter", "leads", "messe", "support"


def _showcase(table: str) -> tuple[Showcase, ...]:
    """Parse the `|`-separated showcase table ("-" for no nickname or no company)."""
    people = []
    for line in table.strip().splitlines():
        first, nick, last, country, gender, company, sources = (c.strip() for c in line.split("|"))
        people.append(
            Showcase(
                first,
                None if nick == "-" else nick,
                last,
                country,
                gender,
                None if company == "-" else company,
                tuple(sources.split()),
            )
        )
    return tuple(people)


SHOWCASE: tuple[Showcase, ...] = _showcase("""
    Jürgen    | -    | Müller       | DE | m | Müller Maschinenbau GmbH    | shop leads messe
    François  | -    | Lefèvre      | FR | m | Lefèvre & Fils SARL         | shop leads newsletter
    José      | Pepe | Núñez        | ES | m | Núñez y Asociados S.L.      | leads messe
    Łukasz    | -    | Kowalski     | GB | m | Thames & Kent Logistics plc | leads messe support
    Pieter    | Piet | van der Berg | NL | m | Van der Berg Logistiek B.V. | shop leads
    Zoë       | -    | O'Neil       | GB | f | -                           | shop newsletter support
    Siobhan   | -    | McDonald     | GB | f | -                           | shop newsletter
    María     | -    | de la Cruz   | ES | f | -                           | shop newsletter
    Robert    | Bob  | Smith        | US | m | -                           | shop newsletter support
    Elizabeth | Liz  | Brown        | US | f | -                           | shop newsletter
    Francisco | Paco | García       | ES | m | -                           | shop newsletter support
""")


@dataclass(eq=False)
class Company:
    """A B2B company with its office address and switchboard."""

    spec: CompanySpec
    address: Address
    switchboard: Phone


@dataclass(eq=False)
class Person:
    """One true person. Sources show variations of these facts, never the facts themselves."""

    pid: str
    country: str
    gender: str  # "f" or "m": only for salutations
    first_name: str
    nickname: str | None  # what they call themselves in informal sign-ups
    last_name: str
    birth_date: date
    email: str  # main personal address
    alt_email: str | None  # an older personal address some systems still have
    mobile: Phone
    landline: Phone | None
    address: Address
    company: Company | None = None
    job_title: str = ""
    work_email: str = ""
    extension: str = ""  # direct-dial extension on the company switchboard
    partner: Person | None = None  # household member at the same address
    sources: list[str] = field(default_factory=list)

    @property
    def vocabulary(self) -> CountryVocabulary:
        """The vocabulary of the person's country."""
        return COUNTRIES[self.country]


def _weighted_index(rng: random.Random, n: int) -> int:
    """Pick 0..n-1 with earlier entries more likely (vocabularies list the common first)."""
    return rng.choices(range(n), weights=[n - i for i in range(n)])[0]


def _pick(rng: random.Random, items: Sequence[str]) -> str:
    """Pick an item, favouring the front of the sequence."""
    return items[_weighted_index(rng, len(items))]


def _random_phone(rng: random.Random, vocab: CountryVocabulary, area: str, length: int) -> Phone:
    """Invent a number with `area` and enough digits for a national number of `length`."""
    subscriber = "".join(str(rng.randrange(10)) for _ in range(length - len(area)))
    if subscriber[0] == "0":  # a subscriber number never starts with the trunk digit
        subscriber = str(rng.randrange(2, 10)) + subscriber[1:]
    return Phone(vocab.calling_code, vocab.trunk_prefix, area, subscriber)


def _random_address(rng: random.Random, vocab: CountryVocabulary) -> Address:
    """Invent an address in one of the country's cities."""
    city = vocab.cities[_weighted_index(rng, len(vocab.cities))]
    number = str(rng.choice((rng.randint(1, 40), rng.randint(1, 240))))
    street = vocab.street_format.format(number=number, street=rng.choice(vocab.streets))
    second = fill_digits(rng, rng.choice(vocab.second_lines)) if rng.random() < 0.15 else ""
    return Address(street, second, city, fill_digits(rng, city.postcode))


class _PersonFactory:
    """Hands out people with unique ids and unique email addresses."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.people: list[Person] = []
        self._emails: set[str] = set()

    def _unique(self, local: str, domain: str) -> str:
        """Return local@domain, with digits added until nobody else has it."""
        email = f"{local}@{domain}"
        while email in self._emails:
            local += str(self.rng.randrange(10))
            email = f"{local}@{domain}"
        self._emails.add(email)
        return email

    def personal_email(self, first: str, last: str, year: int, vocab: CountryVocabulary) -> str:
        """Invent a free-mail address from the name, the way people pick them."""
        rng = self.rng
        german = vocab.code == "DE" and rng.random() < 0.7
        f, la = email_slug(first, german=german), email_slug(last, german=german)
        local = rng.choices(
            (
                f"{f}.{la}",
                f"{f}{la}",
                f"{f[0]}.{la}",
                f"{f}_{la}",
                f"{la}.{f}",
                f"{f}{la}{year % 100:02d}",
                f"{f}.{la}{year}",
                f"{f}{rng.randint(1, 99)}",
                f"{f[0]}{la}",
            ),
            weights=(30, 14, 10, 6, 5, 10, 6, 5, 8),
        )[0]
        return self._unique(local, _pick(rng, vocab.email_domains))

    def work_email(self, person: Person, company: CompanySpec) -> str:
        """The address the company gives out for this person (maybe its shared mailbox)."""
        if company.role_mailbox and self.rng.random() < 0.5:
            return f"{company.role_mailbox}@{company.domain}"  # shared on purpose: not unique
        f = email_slug(person.first_name, german=company.country == "DE")
        la = email_slug(person.last_name, german=company.country == "DE")
        local = {
            "first.last": f"{f}.{la}",
            "f.last": f"{f[0]}.{la}",
            "first": f,
            "flast": f"{f[0]}{la}",
        }[company.email_pattern]
        return self._unique(local, company.domain)

    def new(
        self,
        *,
        country: str | None = None,
        gender: str | None = None,
        first: str | None = None,
        nickname: str | None = None,
        last: str | None = None,
        company: Company | None = None,
    ) -> Person:
        """Invent a person; any fact given is used as is."""
        rng = self.rng
        code = country or rng.choices(list(COUNTRY_WEIGHTS), list(COUNTRY_WEIGHTS.values()))[0]
        vocab = COUNTRIES[code]
        gender = gender or rng.choice("fm")
        if first is None:
            first = rng.choice(vocab.female_names if gender == "f" else vocab.male_names)
            if first in NICKNAMES and rng.random() < 0.6:
                nickname = rng.choice(NICKNAMES[first])
        last = last or rng.choice(vocab.last_names)
        birth = date(1948, 1, 1) + timedelta(days=rng.randrange(57 * 365))
        # Some pick their address from the name they go by.
        email_first = nickname if nickname and rng.random() < 0.3 else first
        email = self.personal_email(email_first, last, birth.year, vocab)
        alt = self.personal_email(first, last, birth.year, vocab) if rng.random() < 0.18 else None
        mobile = _random_phone(rng, vocab, rng.choice(vocab.mobile_prefixes), vocab.mobile_length)
        address = _random_address(rng, vocab)
        landline = (
            _random_phone(rng, vocab, address.city.area_code, vocab.national_length)
            if rng.random() < 0.45
            else None
        )
        person = Person(
            pid=f"P{len(self.people) + 1:04d}",
            country=code,
            gender=gender,
            first_name=first,
            nickname=nickname,
            last_name=last,
            birth_date=birth,
            email=email,
            alt_email=alt,
            mobile=mobile,
            landline=landline,
            address=address,
        )
        if company is not None:
            person.company = company
            local_titles = COUNTRIES[company.spec.country].job_titles
            titles = JOB_TITLES + local_titles + local_titles  # local titles twice as likely
            person.job_title = rng.choice(titles)
            person.work_email = self.work_email(person, company.spec)
            person.extension = str(rng.randint(10, 99))
        self.people.append(person)
        return person

    def partner_of(self, person: Person) -> Person:
        """Invent someone living with `person`: same last name, address and landline."""
        vocab = person.vocabulary
        gender = "m" if person.gender == "f" else "f"
        partner = self.new(country=person.country, gender=gender, last=person.last_name)
        partner.address = person.address
        if person.landline is None:
            person.landline = _random_phone(
                self.rng, vocab, person.address.city.area_code, vocab.national_length
            )
        partner.landline = person.landline
        partner.partner, person.partner = person, partner
        return partner


def _make_company(rng: random.Random, spec: CompanySpec) -> Company:
    """Give a company spec an office address and a switchboard number ending in 0."""
    vocab = COUNTRIES[spec.country]
    address = _random_address(rng, vocab)
    phone = _random_phone(rng, vocab, address.city.area_code, vocab.national_length)
    return Company(spec, address, phone._replace(subscriber=phone.subscriber[:-1] + "0"))


@dataclass
class Cast:
    """The population and who appears in which contact source."""

    people: list[Person]
    companies: list[Company]
    shop: list[Person]
    newsletter: list[Person]
    leads: list[Person]
    messe: list[Person]
    support: list[Person]


def _sample(
    rng: random.Random, pool: Sequence[Person], k: int, *, skip: Sequence[Person] = ()
) -> list[Person]:
    """Pick `k` people from `pool`, leaving out `skip`, in a seeded order."""
    excluded = {id(p) for p in skip}
    return rng.sample([p for p in pool if id(p) not in excluded], k)


def cast_people(rng: random.Random) -> Cast:
    """Invent the population and decide which sources each person appears in."""
    companies = [_make_company(rng, spec) for spec in B2B_COMPANIES]
    by_name = {c.spec.name: c for c in companies}
    factory = _PersonFactory(rng)

    showcase = [
        (
            factory.new(
                country=s.country,
                gender=s.gender,
                first=s.first,
                nickname=s.nickname,
                last=s.last,
                company=by_name[s.company] if s.company else None,
            ),
            s.sources,
        )
        for s in SHOWCASE
    ]
    b2b = [p for p, _ in showcase if p.company is not None]
    b2c = [p for p, _ in showcase if p.company is None]

    # Employees: bigger companies send more people our way, but not proportionally more.
    weights = [c.spec.employees**0.5 for c in companies]
    while len(b2b) < B2B_PEOPLE:
        company = rng.choices(companies, weights)[0]
        country = company.spec.country if rng.random() < 0.85 else None
        b2b.append(factory.new(country=country, company=company))

    in_shop = (HOUSEHOLDS - PARTNERS_ONLY_SUBSCRIBED) + (NAMESAKES - NAMESAKES_ONLY_SUBSCRIBED)
    b2c += [factory.new() for _ in range(B2C_PEOPLE - len(b2c) - in_shop)]
    only_subscribed = PARTNERS_ONLY_SUBSCRIBED + NAMESAKES_ONLY_SUBSCRIBED
    newsletter_only = [factory.new() for _ in range(NEWSLETTER_ONLY - only_subscribed)]

    # Households: partners share the address and the landline (evidence that misleads).
    hosts = _sample(rng, b2c, HOUSEHOLDS, skip=[p for p, _ in showcase])
    partners = [factory.partner_of(host) for host in hosts]
    b2c += partners[PARTNERS_ONLY_SUBSCRIBED:]
    newsletter_only += partners[:PARTNERS_ONLY_SUBSCRIBED]
    # Namesakes: same first and last name, nothing else in common.
    originals = _sample(rng, b2c + b2b, NAMESAKES)
    namesakes = [
        factory.new(country=o.country, gender=o.gender, first=o.first_name, last=o.last_name)
        for o in originals
    ]
    b2c += namesakes[NAMESAKES_ONLY_SUBSCRIBED:]
    newsletter_only += namesakes[:NAMESAKES_ONLY_SUBSCRIBED]
    support_only = [factory.new() for _ in range(SUPPORT_ONLY)]

    def forced(source: str) -> list[Person]:
        """The showcase people who must appear in `source`."""
        return [p for p, sources in showcase if source in sources]

    showcased = [p for p, _ in showcase]
    messe_only = _sample(rng, b2b, MESSE_ONLY, skip=showcased)
    leads = [p for p in b2b if p not in messe_only]
    shop_b2b = [p for p in forced("shop") if p.company is not None]
    shop_b2b += _sample(rng, leads, B2B_IN_SHOP - len(shop_b2b), skip=showcased)
    shop = b2c + shop_b2b
    newsletter = (
        forced("newsletter")
        + _sample(rng, shop, NEWSLETTER_FROM_SHOP - len(forced("newsletter")), skip=showcased)
        + _sample(rng, leads, NEWSLETTER_FROM_LEADS, skip=showcased + shop_b2b)
        + newsletter_only
    )
    messe = forced("messe") + _sample(rng, leads, MESSE_FROM_LEADS, skip=showcased) + messe_only
    support = (
        forced("support")
        + _sample(rng, shop, SUPPORT_FROM_SHOP, skip=showcased)
        + _sample(rng, newsletter_only, SUPPORT_FROM_NEWSLETTER)
        + _sample(rng, leads, SUPPORT_FROM_LEADS, skip=showcased)
        + support_only
    )
    for source, members in (
        ("shop", shop),
        ("newsletter", newsletter),
        ("leads", leads),
        ("messe", messe),
        ("support", support),
    ):
        for person in members:
            person.sources.append(source)
    return Cast(factory.people, companies, shop, newsletter, leads, messe, support)


class Product(NamedTuple):
    """Something the shop sells."""

    sku: str
    name: str
    price: int  # cents
    popularity: int


def _products(table: str) -> tuple[Product, ...]:
    """Parse the `|`-separated catalogue: sku | name | price in cents | popularity."""
    rows = (line.split("|") for line in table.strip().splitlines())
    return tuple(Product(s.strip(), n.strip(), int(p), int(w)) for s, n, p, w in rows)


PRODUCTS: tuple[Product, ...] = _products("""
    TEE-ORG-S   | Organic Cotton Tee - S | 2490  | 10
    TEE-ORG-M   | Organic Cotton Tee - M | 2490  | 14
    TEE-ORG-L   | Organic Cotton Tee - L | 2490  | 9
    HOOD-MER-M  | Merino Hoodie - M      | 8900  | 6
    HOOD-MER-L  | Merino Hoodie - L      | 8900  | 4
    SHIRT-LIN   | Linen Shirt            | 5900  | 6
    BAG-TOTE    | Canvas Tote Bag        | 1990  | 9
    HAT-BEAN    | Wool Beanie            | 2900  | 7
    JKT-RAIN    | Rain Jacket            | 14900 | 3
    SOCK-3PK    | Trail Socks (3-pack)   | 1750  | 12
    BELT-LTH    | Leather Belt           | 4500  | 3
    JEAN-SLM-32 | Denim Jeans - Slim 32  | 7900  | 5
    SUN-COTE    | Sunglasses 'Côte'      | 6500  | 3
    GIFT-25     | Gift Card €25          | 2500  | 3
    GIFT-50     | Gift Card €50          | 5000  | 2
    BTL-750     | Water Bottle 750ml     | 2200  | 6
    BAG-BP20    | Backpack 20L           | 9900  | 3
    SCARF-CSH   | Scarf, Cashmere Blend  | 6900  | 3
    SNK-URB-42  | Sneakers "Urban" - 42  | 11000 | 3
""")


SHIPPING_CENTS = 490  # charged below FREE_SHIPPING_CENTS
FREE_SHIPPING_CENTS = 5000


class Campaign(NamedTuple):
    """An email campaign with an A/B test and a hold-out control group."""

    name: str
    sent_at: datetime


CAMPAIGNS: tuple[Campaign, ...] = (
    Campaign("Spring Sale 2024", datetime(2024, 3, 19, 8, 0, tzinfo=UTC)),
    Campaign("Summer Newsletter 2024", datetime(2024, 7, 9, 7, 30, tzinfo=UTC)),
    Campaign("Black Friday 2024", datetime(2024, 11, 27, 6, 0, tzinfo=UTC)),
    Campaign("Spring Sale 2025", datetime(2025, 3, 18, 8, 0, tzinfo=UTC)),
)
ARMS = ("A", "B", "control")
ARM_WEIGHTS = (45, 45, 10)
# What each arm does: chance to open, chance to click once opened, chance that a shop customer
# buys within days because of the campaign. Control gets no email, so only the last applies.
ARM_BEHAVIOUR: dict[str, tuple[float, float, float]] = {
    "A": (0.42, 0.20, 0.05),
    "B": (0.50, 0.28, 0.07),
    "control": (0.0, 0.0, 0.02),
}
ATTRIBUTION_WINDOW = timedelta(days=7)


@dataclass(eq=False)
class Order:
    """One shop order."""

    account: Account
    created: datetime
    lines: list[tuple[Product, int]]
    status: str  # paid, pending, refunded, partially_refunded, voided
    name: str = ""  # "#1001", given once all orders are known
    order_id: int = 0

    @property
    def subtotal(self) -> int:
        """Sum of line prices in cents."""
        return sum(product.price * quantity for product, quantity in self.lines)

    @property
    def total(self) -> int:
        """Subtotal plus shipping in cents."""
        subtotal = self.subtotal
        return subtotal + (SHIPPING_CENTS if subtotal < FREE_SHIPPING_CENTS else 0)


@dataclass(eq=False)
class Account:
    """A shop customer account; a person may have a second one under another email."""

    person: Person
    customer_id: int
    email: str
    joined: datetime
    is_duplicate: bool = False
    orders: list[Order] = field(default_factory=list)


@dataclass(eq=False)
class Subscriber:
    """A newsletter subscription."""

    person: Person
    email: str
    optin: datetime
    leid: int
    euid: str


class Membership(NamedTuple):
    """A subscriber's place in one campaign."""

    campaign: Campaign
    subscriber: Subscriber
    arm: str


@dataclass(eq=False)
class Ticket:
    """A support request."""

    person: Person
    email: str
    created: datetime
    order: Order | None


@dataclass
class Business:
    """Everything that happened: the cast plus accounts, orders, subscriptions and tickets."""

    cast: Cast
    accounts: list[Account]
    orders: list[Order]
    subscribers: list[Subscriber]
    memberships: list[Membership]
    tickets: list[Ticket]


def _moment(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A random second between start and end, during waking hours more often than not."""
    moment = start + timedelta(seconds=rng.randrange(int((end - start).total_seconds())))
    if rng.random() < 0.8 and not 7 <= moment.hour <= 21:
        moment = moment.replace(hour=rng.randint(8, 21))
    return min(moment, end - timedelta(seconds=1))


def email_variant(rng: random.Random, email: str, how: str) -> str:
    """Spell `email` the way another system holds it.

    `how` is "case" (Jane.Doe@Gmail.com), "dots" (Gmail ignores dots: janedoe@gmail.com),
    "plus" (a +tag before the @), "spaces", or "typo" (a misspelt provider, gmial.com).
    """
    local, _, domain = email.partition("@")
    if how == "case":
        local = ".".join(part.capitalize() for part in local.split("."))
        return f"{local}@{domain.capitalize()}"
    if how == "dots" and domain in ("gmail.com", "googlemail.com"):
        if "." in local:
            local = local.replace(".", "")
        else:
            cut = rng.randrange(1, len(local))
            local = f"{local[:cut]}.{local[cut:]}"
        if rng.random() < 0.3:
            domain = "googlemail.com" if domain == "gmail.com" else "gmail.com"
        return f"{local}@{domain}"
    if how == "plus":
        return f"{local}+{rng.choice(('news', 'shop', 'promo', 'nl'))}@{domain}"
    if how == "spaces":
        return rng.choice((f" {email}", f"{email} ", f" {email}  "))
    if how == "typo":
        typos = {
            "gmail.com": "gmial.com",
            "hotmail.com": "hotmial.com",
            "yahoo.com": "yaho.com",
            "web.de": "wep.de",
            "gmx.de": "gmx.dr",
            "outlook.com": "outlok.com",
        }
        return f"{local}@{typos.get(domain, domain + '.')}"
    return email


def _basket(rng: random.Random, appetite: float) -> list[tuple[Product, int]]:
    """Fill a basket; `appetite` (mean 1) makes some customers buy more per order."""
    size = max(1, round(rng.choices((1, 2, 3, 4), (80, 15, 4, 1))[0] * appetite))
    picked = rng.choices(PRODUCTS, [p.popularity for p in PRODUCTS], k=min(size, 5))
    lines: dict[str, tuple[Product, int]] = {}
    for product in picked:
        quantity = rng.choices((1, 2, 3), (85, 12, 3))[0]
        held = lines.get(product.sku)
        lines[product.sku] = (product, quantity + (held[1] if held else 0))
    return list(lines.values())


def _order_status(rng: random.Random, created: datetime) -> str:
    """Most orders are paid; recent ones may still be pending."""
    if END - created < timedelta(days=10) and rng.random() < 0.4:
        return "pending"
    return rng.choices(("paid", "refunded", "partially_refunded", "voided"), (945, 30, 15, 10))[0]


def _simulate_orders(rng: random.Random, account: Account) -> None:
    """Let a customer buy at their own pace until they drift away (a BG/NBD-like story)."""
    rate_per_year = rng.gammavariate(1.1, 4.6)
    dropout = rng.betavariate(1.0, 5.5)
    appetite = rng.gammavariate(4.0, 0.25)
    moment = account.joined + timedelta(minutes=rng.randint(2, 40))
    while moment < END:
        basket = _basket(rng, appetite)
        account.orders.append(Order(account, moment, basket, _order_status(rng, moment)))
        if rng.random() < dropout:
            break
        moment += timedelta(days=365 * rng.expovariate(rate_per_year) + 1)


def _open_accounts(rng: random.Random, cast: Cast) -> list[Account]:
    """Give each shop person an account, a few of them a second one under another email."""
    accounts = []
    for person in cast.shop:
        joined = _moment(rng, START, END - timedelta(days=3))
        accounts.append(Account(person, 0, person.email, joined))
    for account in rng.sample(accounts, SHOP_DUPLICATES):
        person = account.person
        email = person.alt_email or email_variant(rng, person.email, "plus")
        joined = _moment(rng, account.joined, END - timedelta(days=2))
        accounts.append(Account(person, 0, email, joined, is_duplicate=True))
    accounts.sort(key=lambda a: a.joined)
    next_id = 6_512_348_000_000
    for account in accounts:
        next_id += rng.randint(9_000_000, 400_000_000)
        account.customer_id = next_id
    return accounts


def _subscribe(rng: random.Random, cast: Cast, accounts: list[Account]) -> list[Subscriber]:
    """Sign people up to the newsletter, each under the address they used that day."""
    joined = {id(a.person): a.joined for a in reversed(accounts)}  # first account wins
    subscribers = []
    for person in cast.newsletter:
        if id(person) in joined and rng.random() < 0.6:  # ticked the box at checkout
            optin = joined[id(person)] + timedelta(minutes=rng.randint(1, 30))
        else:
            optin = _moment(rng, START - timedelta(days=200), END - timedelta(days=1))
        if person.company is not None and "shop" not in person.sources:
            email = person.work_email if rng.random() < 0.8 else person.email
        else:
            how = rng.choices(
                ("same", "case", "dots", "plus", "alt", "spaces"), (58, 10, 8, 8, 12, 4)
            )[0]
            if how == "alt" and person.alt_email:
                email = person.alt_email
            else:
                email = email_variant(rng, person.email, how)
        leid = 0
        euid = "".join(rng.choice("0123456789abcdef") for _ in range(10))
        subscribers.append(Subscriber(person, email, optin, leid, euid))
    subscribers.sort(key=lambda s: s.optin)
    leid = 41_000_000 + rng.randrange(1_000_000)
    for subscriber in subscribers:
        leid += rng.randint(1, 90_000)
        subscriber.leid = leid
    return subscribers


def _run_campaigns(
    rng: random.Random, subscribers: list[Subscriber], accounts: list[Account]
) -> list[Membership]:
    """Assign arms per campaign and add the orders the campaigns caused."""
    primary = {id(a.person): a for a in accounts if not a.is_duplicate}
    memberships = []
    for campaign in CAMPAIGNS:
        for subscriber in subscribers:
            if subscriber.optin >= campaign.sent_at:
                continue
            arm = rng.choices(ARMS, ARM_WEIGHTS)[0]
            memberships.append(Membership(campaign, subscriber, arm))
            account = primary.get(id(subscriber.person))
            if account is not None and rng.random() < ARM_BEHAVIOUR[arm][2]:
                when = campaign.sent_at + timedelta(minutes=rng.randint(30, 5 * 24 * 60))
                account.orders.append(
                    Order(account, when, _basket(rng, 1.2), _order_status(rng, when))
                )
    return memberships


def _raise_tickets(rng: random.Random, cast: Cast, accounts: list[Account]) -> list[Ticket]:
    """Let people write to support, customers mostly about an order they placed."""
    primary = {id(a.person): a for a in accounts if not a.is_duplicate}
    extra = rng.choices(cast.support, k=TICKETS - len(cast.support))
    tickets = []
    for person in cast.support + extra:
        account = primary.get(id(person))
        if account is not None and account.orders and rng.random() < 0.8:
            order = rng.choice(account.orders)
            created = order.created + timedelta(hours=rng.uniform(2, 24 * 20))
            created = min(created, END - timedelta(hours=1))
        else:
            order = None
            created = _moment(rng, START, END)
        how = rng.choices(("same", "case", "plus", "alt", "work"), (78, 7, 5, 5, 5))[0]
        if how == "alt" and person.alt_email:
            email = person.alt_email
        elif how == "work" and person.work_email:
            email = person.work_email
        elif person.company is not None and account is None:
            email = person.work_email  # a lead asking about a wholesale order
        else:
            email = email_variant(rng, person.email, how)
        tickets.append(Ticket(person, email, created, order))
    tickets.sort(key=lambda t: t.created)
    return tickets


def run_business(seed: int) -> Business:
    """Invent the population and two years of what happened between them and the shop."""
    cast = cast_people(random.Random(f"{seed}:cast"))
    rng = random.Random(f"{seed}:business")
    accounts = _open_accounts(rng, cast)
    for account in accounts:
        if account.is_duplicate:
            when = account.joined + timedelta(minutes=5)
            account.orders.append(Order(account, when, _basket(rng, 1.0), "paid"))
        elif rng.random() < 0.92:
            _simulate_orders(rng, account)
    subscribers = _subscribe(rng, cast, accounts)
    memberships = _run_campaigns(rng, subscribers, accounts)
    orders = sorted((o for a in accounts for o in a.orders), key=lambda o: o.created)
    order_id = 5_611_000_000_000
    for number, order in enumerate(orders, start=1001):
        order_id += rng.randint(2_000_000, 90_000_000)
        order.name, order.order_id = f"#{number}", order_id
    tickets = _raise_tickets(rng, cast, accounts)
    return Business(cast, accounts, orders, subscribers, memberships, tickets)


# =============================================================================================
# Messiness: how each system distorts the facts
# =============================================================================================


class NameStyle(NamedTuple):
    """How often a source shows each kind of name mess (chances between 0 and 1)."""

    nickname: float  # the short form instead of the given name, when the person has one
    typo: float  # one letter wrong, missing, doubled or swapped
    shout: float  # ALL CAPS
    lower: float  # all lower case
    mixed: float  # "JANE doe"
    spaces: float  # stray leading, trailing or double spaces
    ascii: float  # accents dropped (Müller -> Muller, or Mueller in German systems)


SHOP_NAMES = NameStyle(0.5, 0.02, 0.03, 0.05, 0.02, 0.04, 0.05)
BILLING_NAMES = NameStyle(0.1, 0.01, 0.04, 0.02, 0.0, 0.01, 0.03)
NEWSLETTER_NAMES = NameStyle(0.4, 0.03, 0.02, 0.08, 0.01, 0.03, 0.12)
LEAD_NAMES = NameStyle(0.1, 0.02, 0.01, 0.01, 0.0, 0.02, 0.03)
MESSE_NAMES = NameStyle(0.2, 0.05, 0.08, 0.03, 0.03, 0.05, 0.0)
SUPPORT_NAMES = NameStyle(0.5, 0.03, 0.02, 0.10, 0.0, 0.02, 0.15)


def typo(rng: random.Random, word: str) -> str:
    """Make one slip of the finger: swap, drop, double or replace one letter."""
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    op = rng.choice(("swap", "drop", "double", "replace"))
    if op == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if op == "drop":
        return word[:i] + word[i + 1 :]
    if op == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + rng.choice("aeinorstl") + word[i + 1 :]


def render_name(rng: random.Random, person: Person, style: NameStyle) -> tuple[str, str]:
    """Return (first, last) as a source with `style` would hold them."""
    first = person.first_name
    if person.nickname and rng.random() < style.nickname:
        first = person.nickname
    last = person.last_name
    if rng.random() < style.ascii:
        fold = transliterate_german if person.country == "DE" else strip_accents
        first, last = fold(first), fold(last)
    if rng.random() < style.typo:
        if rng.random() < 0.5:
            first = typo(rng, first)
        else:
            last = typo(rng, last)
    roll = rng.random()
    if roll < style.shout:
        first, last = first.upper(), last.upper()
    elif roll < style.shout + style.lower:
        first, last = first.lower(), last.lower()
    elif roll < style.shout + style.lower + style.mixed:
        first, last = first.upper(), last.lower()
    if rng.random() < style.spaces:
        pad = rng.choice((" {}", "{} ", "  {}", "{}  "))
        if rng.random() < 0.5:
            first = pad.format(first)
        else:
            last = pad.format(last)
    return first, last


def _money(cents: int) -> str:
    """Write cents as 12.34."""
    return f"{cents // 100}.{cents % 100:02d}"


def _last_sunday(year: int, month: int) -> date:
    """The last Sunday of a month (when EU clocks change, in March and October)."""
    day = date(year, month + 1, 1) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() - 6) % 7)


def berlin_offset(moment: datetime) -> int:
    """Hours Berlin is ahead of UTC at `moment` (EU rule; no tz database needed)."""
    spring = datetime.combine(_last_sunday(moment.year, 3), datetime.min.time(), UTC)
    autumn = datetime.combine(_last_sunday(moment.year, 10), datetime.min.time(), UTC)
    return 2 if spring + timedelta(hours=1) <= moment < autumn + timedelta(hours=1) else 1


def _shop_time(moment: datetime) -> str:
    """Shopify's timestamp: shop-local time with the offset, 2024-03-05 14:22:11 +0100."""
    offset = berlin_offset(moment)
    return f"{moment + timedelta(hours=offset):%Y-%m-%d %H:%M:%S} +0{offset}00"


def _utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z."""
    return f"{moment:%Y-%m-%dT%H:%M:%SZ}"


class CsvDocument:
    """Rows of one CSV file as text, remembering the line each row starts on.

    Importers report a row by the line it starts on (header = line 1), and quoted fields may
    hold line breaks, so the line of row n is not n + 1 in general.
    """

    def __init__(self, header: Sequence[str], *, delimiter: str = ",", newline: str = "\n"):
        self._scratch = io.StringIO()
        self._writer = csv.writer(self._scratch, delimiter=delimiter, lineterminator=newline)
        self._parts: list[str] = []
        self._next_line = 1
        self.add(header)

    def add(self, row: Sequence[object]) -> int:
        """Append a row; return the 1-based line it starts on."""
        self._scratch.seek(0)
        self._scratch.truncate()
        self._writer.writerow(row)
        text = self._scratch.getvalue()
        line = self._next_line
        self._next_line += text.count("\n")
        self._parts.append(text)
        return line

    def save(self, path: Path, *, encoding: str = "utf-8") -> None:
        """Write the file; characters the encoding lacks become '?' as in real exports."""
        path.write_bytes("".join(self._parts).encode(encoding, errors="replace"))


@dataclass
class Truth:
    """Which true person each row of each file belongs to."""

    rows: list[tuple[str, int, str, str]] = field(default_factory=list)

    def add(self, file: str, row: int, record_id: str, person: Person) -> None:
        """Record that `row` (the importer's row number) of `file` describes `person`."""
        self.rows.append((file, row, record_id, person.pid))

    def save(self, path: Path) -> None:
        """Write TRUTH.csv."""
        doc = CsvDocument(("file", "row", "record_id", "person_id"))
        for entry in self.rows:
            doc.add(entry)
        doc.save(path)


def _pick_bad_rows(rng: random.Random, count: int, kinds: Sequence[str]) -> dict[str, int]:
    """Choose distinct row indexes (away from the top of the file) for each kind of defect."""
    return dict(zip(kinds, rng.sample(range(10, count), len(kinds)), strict=True))


def _city_name(rng: random.Random, city: City, *, exonym: float) -> str:
    """The city as a source writes it: sometimes the English name, sometimes shouted."""
    name = CITY_EXONYMS.get(city.name, city.name) if rng.random() < exonym else city.name
    roll = rng.random()
    return name.upper() if roll < 0.03 else name.lower() if roll < 0.06 else name


# =============================================================================================
# The files
# =============================================================================================

SHOPIFY_CUSTOMERS_HEADER = _items(
    "Customer ID, First Name, Last Name, Email, Accepts Email Marketing, Default Address Company, "
    "Default Address Address1, Default Address Address2, Default Address City, Default Address "
    "Province Code, Default Address Country Code, Default Address Zip, Default Address Phone, "
    "Phone, Accepts SMS Marketing, Total Spent, Total Orders, Note, Tax Exempt, Tags"
)
_SHOPIFY_PROVINCE_COUNTRIES = ("US", "CA", "AU", "ES", "IT")
_SHOP_NOTES = (
    "Prefers delivery after 6pm",
    "Wholesale inquiry, call back",
    "VIP - handle with care",
    "Allergic to wool.\nOnly send cotton samples",
    "Asked for invoice with VAT number",
    "Returned twice, check sizes",
    'Says "no phone calls please"',
)
_SHOP_TAGS = (
    "VIP",
    "newsletter",
    "wholesale",
    "returning",
    "VIP, wholesale",
    "pop-up 2024",
    "newsletter, returning",
)


def write_shop_customers(path: Path, business: Business, truth: Truth, rng: random.Random) -> int:
    """Write the Shopify customers export; return its data row count."""
    doc = CsvDocument(SHOPIFY_CUSTOMERS_HEADER)
    accounts = business.accounts
    bad = _pick_bad_rows(rng, len(accounts), ("missing_id", "amount", "ragged"))
    typo_row = next(i for i, a in enumerate(accounts) if i > 40 and a.email.endswith("@gmail.com"))
    subscribed = {id(s.person) for s in business.subscribers}
    for index, account in enumerate(accounts):
        person, address = account.person, account.person.address
        first, last = render_name(rng, person, SHOP_NAMES)
        if rng.random() < 0.015:
            first, last = f"{last}, {first}", ""
        spent = sum(o.total for o in account.orders if o.status in ("paid", "partially_refunded"))
        landline = ""
        if person.landline is not None and rng.random() < 0.7:
            landline = "'" + format_phone(
                person.landline, _pick(rng, person.vocabulary.phone_styles)
            )
        note = rng.choice(_SHOP_NOTES) if rng.random() < 0.06 else ""
        tags = rng.choice(_SHOP_TAGS) if rng.random() < 0.3 else ""
        email = account.email
        if index == typo_row:
            email = email_variant(rng, email, "typo")
        row = [
            "" if index == bad["missing_id"] else f"'{account.customer_id}",
            first,
            last,
            email,
            "yes" if id(person) in subscribed or rng.random() < 0.1 else "no",
            person.company.spec.name if person.company and rng.random() < 0.3 else "",
            address.street,
            address.street2,
            _city_name(rng, address.city, exonym=0.3),
            address.city.region_code if person.country in _SHOPIFY_PROVINCE_COUNTRIES else "",
            person.country,
            f"'{address.postcode}",
            landline,
            "'" + format_phone(person.mobile, "e164") if rng.random() < 0.75 else "",
            rng.choice(("yes", "no", "no")),
            "N/A" if index == bad["amount"] else _money(spent),
            str(len(account.orders)),
            note,
            "yes" if person.company is not None and rng.random() < 0.2 else "no",
            tags,
        ]
        if index == bad["ragged"]:
            row[-1:] = ["VIP", " wholesale"]  # an unquoted comma: one field too many
        line = doc.add(row)
        truth.add(path.name, line, row[0].lstrip("'"), person)
    doc.save(path)
    return len(accounts)


SHOPIFY_ORDERS_HEADER = _items(
    "Name, Email, Financial Status, Paid at, Currency, Subtotal, Total, Lineitem quantity, "
    "Lineitem name, Lineitem price, Lineitem sku, Billing Name, Id, Created at"
)


def _billing_name(rng: random.Random, person: Person) -> str:
    """Who the card belongs to: usually the customer, sometimes their partner."""
    if person.partner is not None and rng.random() < 0.15:
        person = person.partner
    first, last = render_name(rng, person, BILLING_NAMES)
    return f"{last}, {first}" if rng.random() < 0.03 else f"{first} {last}"


def write_shop_orders(path: Path, business: Business, truth: Truth, rng: random.Random) -> int:
    """Write the Shopify orders export, one row per line item; return its data row count."""
    doc = CsvDocument(SHOPIFY_ORDERS_HEADER)
    orders = business.orders
    bad = _pick_bad_rows(rng, len(orders), ("bad_date", "amount", "no_email"))
    rows = 0
    for index, order in enumerate(orders):
        person = order.account.person
        email = order.account.email
        if rng.random() < 0.04:
            email = email_variant(rng, email, "case")
        if index == bad["no_email"]:
            email = ""
        created = _shop_time(order.created)
        if index == bad["bad_date"]:
            created = f"{order.created.year}-02-30 {created[11:]}"
        paid = order.status in ("paid", "refunded", "partially_refunded")
        paid_at = _shop_time(order.created + timedelta(seconds=rng.randint(3, 90))) if paid else ""
        total = "N/A" if index == bad["amount"] else _money(order.total)
        billing = _billing_name(rng, person)
        for number, (product, quantity) in enumerate(order.lines):
            head = (
                [order.status, paid_at, "EUR", _money(order.subtotal), total]
                if number == 0
                else ["", "", "", "", ""]
            )
            row = [
                order.name,
                email,
                *head,
                str(quantity),
                product.name,
                _money(product.price),
                product.sku,
                billing if number == 0 else "",
                str(order.order_id) if number == 0 else "",
                created if number == 0 else "",
            ]
            line = doc.add(row)
            if number == 0:  # the answer key lists orders, by the line they start on
                truth.add(path.name, line, order.name, person)
            rows += 1
    doc.save(path)
    return rows


MAILCHIMP_HEADER = _items(
    "Email Address, First Name, Last Name, Address, Phone Number, Birthday, MEMBER_RATING, "
    "OPTIN_TIME, OPTIN_IP, CONFIRM_TIME, CONFIRM_IP, LATITUDE, LONGITUDE, GMTOFF, DSTOFF, "
    "TIMEZONE, CC, REGION, LAST_CHANGED, LEID, EUID, NOTES, TAGS"
)
_DOC_NETS = ("192.0.2", "198.51.100", "203.0.113")  # RFC 5737 documentation addresses


def _ip(rng: random.Random) -> str:
    """An IPv4 address from the ranges reserved for documentation."""
    return f"{rng.choice(_DOC_NETS)}.{rng.randint(1, 254)}"


def _hours(value: float) -> str:
    """Mailchimp's offset: 1, -5, 9.5."""
    return str(int(value)) if value == int(value) else str(value)


def write_newsletter(path: Path, business: Business, truth: Truth, rng: random.Random) -> int:
    """Write the Mailchimp audience export; return its data row count."""
    doc = CsvDocument(MAILCHIMP_HEADER)
    subscribers = business.subscribers
    bad = _pick_bad_rows(rng, len(subscribers), ("birthday", "ragged", "invalid_email"))
    typo_row = next(
        i for i, s in enumerate(subscribers) if i > 40 and s.email.endswith("@hotmail.com")
    )
    shop_people = {id(a.person) for a in business.accounts}
    for index, sub in enumerate(subscribers):
        person, address = sub.person, sub.person.address
        city = address.city
        first, last = render_name(rng, person, NEWSLETTER_NAMES)
        if rng.random() < 0.12:
            first, last = "", ""  # signed up with the email field only
        postal = ""
        if rng.random() < 0.3:
            parts = (
                address.street,
                address.street2,
                city.name,
                city.region_code,
                address.postcode,
                person.country,
            )
            postal = "  ".join(parts)  # Mailchimp joins address parts with two spaces
        phone = ""
        if rng.random() < 0.25:
            number = person.landline if person.landline and rng.random() < 0.3 else person.mobile
            phone = format_phone(number, _pick(rng, person.vocabulary.phone_styles))
        birthday = f"{person.birth_date:%m/%d}" if rng.random() < 0.25 else ""
        if index == bad["birthday"]:
            birthday = "02/30"
        confirmed = sub.optin + timedelta(minutes=rng.randint(1, 600))
        double_optin = rng.random() < 0.9
        geo = rng.random() < 0.6
        standard, daylight = TIMEZONE_OFFSETS[city.timezone]
        changed = min(confirmed + timedelta(days=rng.randint(0, 400)), END - timedelta(hours=2))
        tags = []
        if id(person) in shop_people:
            tags.append('"Customer"')
        if person.company is not None and "leads" in person.sources:
            tags.append('"B2B"')
        if rng.random() < 0.05:
            tags.append('"VIP"')
        email = sub.email
        if index == typo_row:
            email = email_variant(rng, email, "typo")
        if index == bad["invalid_email"]:
            email = email.partition("@")[0] + "@"
        row = [
            email,
            first,
            last,
            postal,
            phone,
            birthday,
            str(rng.choices((1, 2, 3, 4, 5), (5, 50, 25, 12, 8))[0]),
            f"{sub.optin:%Y-%m-%d %H:%M:%S}",
            _ip(rng),
            f"{confirmed:%Y-%m-%d %H:%M:%S}" if double_optin else "",
            _ip(rng) if double_optin else "",
            f"{city.latitude + rng.uniform(-0.05, 0.05):.7f}" if geo else "",
            f"{city.longitude + rng.uniform(-0.05, 0.05):.7f}" if geo else "",
            _hours(standard) if geo else "",
            _hours(daylight) if geo else "",
            city.timezone if geo else "",
            person.country if geo else "",
            city.region_code if geo else "",
            f"{changed:%Y-%m-%d %H:%M:%S}",
            str(sub.leid),
            sub.euid,
            "Signed up at the pop-up store" if rng.random() < 0.02 else "",
            ",".join(tags),
        ]
        if index == bad["ragged"]:
            row = row[:-3]  # a truncated line: three fields short
        truth.add(path.name, doc.add(row), str(sub.leid), person)
    doc.save(path)
    return len(subscribers)


SALESFORCE_HEADER = _items(
    "Lead ID, Salutation, First Name, Last Name, Title, Company, Email, Phone, Mobile, Street, "
    "City, State/Province, Zip/Postal Code, Country, Lead Source, Lead Status, Industry, No. of "
    "Employees, Created Date"
)
_LEAD_SOURCES = ("Web", "Trade Show", "Partner Referral", "Webinar", "Cold Call", "Advertisement")
_LEAD_STATUSES = (
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
)
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# Workbook metadata and zip entries carry this instead of the time of the run.
_FIXED_TIMESTAMP = datetime(2025, 6, 1, 0, 0, 0)


def _work_phone(rng: random.Random, person: Person) -> str | int:
    """The direct line: switchboard plus extension, written the way the rep typed it."""
    assert person.company is not None
    switchboard = person.company.switchboard
    if rng.random() < 0.05:  # typed into a number cell: the + and the extension are gone
        return int(f"{switchboard.calling_code}{switchboard.area}{switchboard.subscriber}")
    vocab = COUNTRIES[person.company.spec.country]
    base = format_phone(switchboard, _pick(rng, vocab.phone_styles))
    if vocab.code in ("DE", "NL", "IT"):  # direct dial: the switchboard's final 0 -> extension
        return f"{base[:-1]}-{person.extension}"
    joiner = " poste " if vocab.code == "FR" else rng.choice((" ext. ", " x", " ext "))
    return f"{base}{joiner}{person.extension}"


def _lead_row(
    rng: random.Random, person: Person, lead_id: str, created: datetime, duplicate: bool
) -> list[object]:
    """One Salesforce lead for `person`, as a sales rep entered it."""
    assert person.company is not None
    company = person.company
    spec, office = company.spec, company.address
    vocab = COUNTRIES[spec.country]
    first, last = render_name(rng, person, LEAD_NAMES)
    salutation = rng.choice(("Mr.",) if person.gender == "m" else ("Ms.", "Mrs.", "Ms."))
    salutation = rng.choices((salutation, "Dr.", ""), (82, 8, 10))[0]
    email = person.work_email
    if duplicate:
        email = person.email if rng.random() < 0.5 else email_variant(rng, email, "case")
    elif rng.random() < 0.06:
        email = email_variant(rng, email, "case")
    postcode: str | int = office.postcode
    if office.postcode.isdigit() and rng.random() < 0.4:
        postcode = int(office.postcode)  # a number cell: 01067 becomes 1067
    employees: int | str | None = spec.employees if rng.random() < 0.9 else None
    return [
        lead_id,
        salutation,
        first,
        last,
        person.job_title,
        spec.name if rng.random() < 0.65 else rng.choice(spec.variants),
        email,
        _work_phone(rng, person),
        format_phone(person.mobile, rng.choice(("intl", "e164"))) if rng.random() < 0.5 else None,
        office.street,
        _city_name(rng, office.city, exonym=0.4),
        office.city.region_code if rng.random() < 0.6 else office.city.region_name,
        postcode,
        _pick(rng, vocab.spellings),
        "Trade Show" if duplicate else rng.choice(_LEAD_SOURCES),
        rng.choice(_LEAD_STATUSES),
        spec.industry if rng.random() < 0.9 else None,
        employees,
        created.replace(tzinfo=None),
    ]


def _salesforce_id(rng: random.Random, prefix: str) -> str:
    """An 18-character Salesforce record id with the object's 3-character prefix."""
    return prefix + "5g00000" + "".join(rng.choice(_BASE62) for _ in range(8))


def save_workbook(workbook: Workbook, path: Path) -> None:
    """Save an .xlsx whose bytes depend on its content only.

    openpyxl stamps the current time into docProps/core.xml and into every zip entry; here
    both get `_FIXED_TIMESTAMP` so regenerating the file leaves it unchanged.
    """
    workbook.properties.creator = "rolodex sample generator"
    workbook.properties.created = _FIXED_TIMESTAMP
    workbook.properties.modified = _FIXED_TIMESTAMP
    written = io.BytesIO()
    archive = zipfile.ZipFile(written, "w", zipfile.ZIP_DEFLATED)
    ExcelWriter(workbook, archive).save()  # closes the archive
    stable = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(written.getvalue())) as source,
        zipfile.ZipFile(stable, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            fixed = zipfile.ZipInfo(entry.filename, date_time=_FIXED_TIMESTAMP.timetuple()[:6])
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = entry.external_attr
            target.writestr(fixed, source.read(entry.filename))
    path.write_bytes(stable.getvalue())


def write_sales_leads(path: Path, business: Business, truth: Truth, rng: random.Random) -> int:
    """Write the Salesforce leads workbook (one sheet, "Leads"); return its data row count."""
    people = business.cast.leads
    entries = [(p, False) for p in people]
    entries += [(p, True) for p in rng.sample(people, LEAD_DUPLICATES)]
    dated = [(_moment(rng, START, END), person, dup) for person, dup in entries]
    dated.sort(key=lambda item: item[0])
    bad = _pick_bad_rows(rng, len(dated), ("missing_id", "bad_date", "employees"))
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Leads"
    sheet.append(SALESFORCE_HEADER)
    taken: set[str] = set()
    for index, (created, person, duplicate) in enumerate(dated):
        lead_id = _salesforce_id(rng, "00Q")
        while lead_id in taken:
            lead_id = _salesforce_id(rng, "00Q")
        taken.add(lead_id)
        row = _lead_row(rng, person, lead_id, created, duplicate)
        if index == bad["missing_id"]:
            row[0] = None
        if index == bad["bad_date"]:
            row[-1] = "N/A"
        elif rng.random() < 0.03:
            row[-1] = f"{created:%d.%m.%Y}"  # typed as text by a German rep
        if index == bad["employees"]:
            row[-2] = "200-500"
        sheet.append(row)
        truth.add(path.name, index + 2, str(row[0] or ""), person)
    save_workbook(workbook, path)
    return len(dated)


MESSE_HEADER = _items(
    "Anrede; Vorname; Nachname; Firma; E-Mail; Telefon; Straße; PLZ; Ort; Land; Notiz", sep=";"
)
_MESSE_NOTES = (
    "Interesse an Großbestellung; Rückruf in KW 14",
    "Katalog zugeschickt",
    "Will Händlerkonditionen; Angebot bis Freitag",
    "Stand B12, kam mit Kollegen",
    "Kennt uns über Empfehlung",
    "Muster Merino-Hoodie mitgegeben",
    "Nächste Messe wieder vorbeikommen\nVisitenkarte fotografiert",
    "kein Interesse",
)
_GERMAN_STYLES = ("national", "national_slash", "intl_trunk", "national_dash")


def write_messe_kontakte(path: Path, business: Business, truth: Truth, rng: random.Random) -> int:
    """Write the hand-typed trade-fair sheet: semicolons, cp1252, CRLF; return its row count."""
    doc = CsvDocument(MESSE_HEADER, delimiter=";", newline="\r\n")
    people = list(business.cast.messe) + rng.sample(business.cast.messe, MESSE_DUPLICATES)
    rng.shuffle(people)
    bad = _pick_bad_rows(rng, len(people), ("ragged", "no_contact", "card"))
    for index, person in enumerate(people):
        assert person.company is not None
        spec, office = person.company.spec, person.company.address
        first, last = render_name(rng, person, MESSE_NAMES)
        salutation = "Herr" if person.gender == "m" else "Frau"
        salutation = rng.choices((salutation, f"{salutation} Dr.", ""), (87, 8, 5))[0]
        email = rng.choices((person.work_email, person.email, ""), (82, 11, 7))[0]
        number = person.mobile if rng.random() < 0.6 else person.company.switchboard
        styles = _GERMAN_STYLES if person.country == "DE" else ("intl", "intl00", "e164")
        phone = format_phone(number, rng.choice(styles))
        street = office.street
        if spec.country == "DE" and rng.random() < 0.4:
            street = street.replace("straße", "str.").replace("Straße", "Str.")
        land = COUNTRIES[spec.country].german_name
        if spec.country == "DE":
            land = rng.choices(("Deutschland", "D", "DE", ""), (60, 15, 10, 15))[0]
        row = [
            salutation,
            first,
            last,
            spec.name if rng.random() < 0.5 else rng.choice(spec.variants),
            email,
            phone,
            street,
            office.postcode,
            office.city.name,
            land,
            rng.choice(_MESSE_NOTES) if rng.random() < 0.5 else "",
        ]
        if index == bad["card"]:
            row[4] = "siehe Visitenkarte"
        if index == bad["no_contact"]:
            row[4], row[5] = "", ""
        if index == bad["ragged"]:
            row = row[:8]  # the typist gave up after the postcode
        truth.add(path.name, doc.add(row), "", person)
    doc.save(path, encoding="cp1252")
    return len(people)


ZENDESK_HEADER = _items(
    "Id, Requester, Requester email, Subject, Status, Priority, Via, Created at, Solved at, "
    "Satisfaction Score, Assignee, Group, Tags"
)
_ORDER_SUBJECTS = (
    "Where is my order {order}?",
    "Return request for order {order}",
    "Wrong size received ({order})",
    "Refund for {order} not received yet",
    "Change delivery address for {order}",
    "Order {order} arrived damaged",
)
_GENERAL_SUBJECTS = (
    "Discount code not working",
    "Question about Merino Hoodie sizing",
    "Can't log in to my account",
    "Please unsubscribe me",
    "Do you ship to Switzerland?",
    "Bulk order for our office",
    "Invoice with VAT number, please",
    "Gift card balance?",
)
_AGENTS = ("Sophie Wagner", "Tom Ellis", "Marta Ruiz", "Jonas Berg")
_GROUPS = ("Support", "Returns", "Billing", "Wholesale")
_VIAS = ("Mail", "Web Widget", "Chat", "Phone call (inbound)")


def _requester(rng: random.Random, person: Person, email: str) -> str:
    """The requester name Zendesk shows: typed by the person, or made from their email."""
    first, last = render_name(rng, person, SUPPORT_NAMES)
    how = rng.choices(("full", "first", "email", "reversed"), (60, 18, 17, 5))[0]
    if how == "first":
        return first
    if how == "email" and email:
        return email.strip().partition("@")[0]
    if how == "reversed":
        return f"{last}, {first}"
    return f"{first} {last}"


def write_support_tickets(path: Path, business: Business, truth: Truth, rng: random.Random) -> int:
    """Write the Zendesk tickets export (UTF-8 with BOM, CRLF); return its data row count."""
    doc = CsvDocument(ZENDESK_HEADER, newline="\r\n")
    tickets = business.tickets
    bad = _pick_bad_rows(rng, len(tickets), ("bad_date", "ragged"))
    ticket_id = 10_000
    for index, ticket in enumerate(tickets):
        ticket_id += rng.choices((1, 2, 3), (80, 15, 5))[0]
        via = rng.choices(_VIAS, (45, 25, 20, 10))[0]
        email = ticket.email
        if via == "Phone call (inbound)" and rng.random() < 0.4:
            email = ""  # the agent did not ask
        if ticket.order is not None and rng.random() < 0.85:
            subject = rng.choice(_ORDER_SUBJECTS).format(order=ticket.order.name)
        else:
            subject = rng.choice(_GENERAL_SUBJECTS)
        age = END - ticket.created
        if age < timedelta(days=7):
            status = rng.choice(("new", "open", "pending", "solved"))
        else:
            status = rng.choices(("closed", "solved", "open"), (65, 30, 5))[0]
        done = status in ("solved", "closed")
        solved = ticket.created + timedelta(hours=rng.uniform(0.5, 120))
        satisfaction = (
            rng.choices(("Good", "Bad", "Offered", "Not Offered"), (45, 8, 30, 17))[0]
            if done
            else "Not Offered"
        )
        tags = " ".join(
            rng.sample(
                ("order_status", "shipping", "returns", "refund", "vip", "sizing", "b2b"),
                rng.randint(0, 2),
            )
        )
        row = [
            str(ticket_id),
            _requester(rng, ticket.person, email),
            email,
            subject,
            status,
            rng.choices(("normal", "low", "high", "urgent", "-"), (60, 15, 18, 4, 3))[0],
            via,
            "n/a" if index == bad["bad_date"] else f"{ticket.created:%Y-%m-%d %H:%M}",
            f"{min(solved, END - timedelta(minutes=1)):%Y-%m-%d %H:%M}" if done else "",
            satisfaction,
            "" if status == "new" else rng.choice(_AGENTS),
            rng.choices(_GROUPS, (60, 20, 12, 8))[0],
            tags,
        ]
        if index == bad["ragged"]:
            row.append("")  # a stray trailing delimiter
        truth.add(path.name, doc.add(row), str(ticket_id), ticket.person)
    doc.save(path, encoding="utf-8-sig")
    return len(tickets)


def _campaign_events(
    rng: random.Random, business: Business
) -> list[tuple[datetime, int, dict[str, object], Person]]:
    """Every send, hold-out, open, click and attributed purchase, in time order."""
    primary = {id(a.person): a for a in business.accounts if not a.is_duplicate}
    events: list[tuple[datetime, int, dict[str, object], Person]] = []

    def emit(moment: datetime, membership: Membership, kind: str, **extra: object) -> None:
        """Record one event of `membership`."""
        record: dict[str, object] = {
            "campaign": membership.campaign.name,
            "email": membership.subscriber.email,
            "event": kind,
            "timestamp": _utc(moment),
            "arm": membership.arm,
        }
        record.update(extra)
        events.append((moment, len(events), record, membership.subscriber.person))

    for membership in business.memberships:
        sent_at = membership.campaign.sent_at
        open_rate, click_rate, _ = ARM_BEHAVIOUR[membership.arm]
        if membership.arm == "control":
            emit(sent_at, membership, "holdout")
        else:
            sent = sent_at + timedelta(seconds=rng.randrange(2400))
            emit(sent, membership, "sent")
            if rng.random() < open_rate:
                opened = sent + timedelta(hours=rng.expovariate(1 / 6))
                for _ in range(rng.choices((1, 2, 3), (75, 20, 5))[0]):
                    emit(opened, membership, "open")
                    opened += timedelta(hours=rng.expovariate(1 / 20))
                if rng.random() < click_rate:
                    emit(opened + timedelta(seconds=rng.randint(5, 300)), membership, "click")
        account = primary.get(id(membership.subscriber.person))
        for order in account.orders if account else ():
            if sent_at <= order.created < sent_at + ATTRIBUTION_WINDOW:
                emit(
                    order.created,
                    membership,
                    "purchase",
                    order=order.name,
                    revenue=order.total / 100,
                )
    events.sort(key=lambda e: (e[0], e[1]))
    return events


def write_campaign_responses(
    path: Path, business: Business, truth: Truth, rng: random.Random
) -> int:
    """Write the campaign events as NDJSON; return the line count."""
    events = _campaign_events(rng, business)
    bad = _pick_bad_rows(rng, len(events), ("bad_timestamp", "no_email", "truncated"))
    lines = []
    for index, (_, _, record, person) in enumerate(events):
        if index == bad["bad_timestamp"]:
            record["timestamp"] = "yesterday"
        if index == bad["no_email"]:
            record["email"] = None
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        if index == bad["truncated"]:
            text = text[: len(text) // 2]  # the export was cut off mid-object
        lines.append(text + "\n")
        truth.add(path.name, index + 1, "", person)
    path.write_text("".join(lines), encoding="utf-8", newline="\n")
    return len(events)


# =============================================================================================
# Entry points
# =============================================================================================

Writer = Callable[[Path, Business, Truth, random.Random], int]

# File name -> writer, in the order the demo imports them (see rolodex.sample.SAMPLE_SOURCES).
WRITERS: dict[str, Writer] = {
    "shop_customers.csv": write_shop_customers,
    "shop_orders.csv": write_shop_orders,
    "newsletter.csv": write_newsletter,
    "sales_leads.xlsx": write_sales_leads,
    "messe_kontakte.csv": write_messe_kontakte,
    "support_tickets.csv": write_support_tickets,
    "campaign_responses.ndjson": write_campaign_responses,
}

_README = """\
# Rolodex sample data

Synthetic exports of seven systems of one small online shop, used by `rolodex demo` and by
matching-quality tests. Every person, company, address, phone number and email address here
is invented; IP addresses come from the ranges reserved for documentation (RFC 5737).
Released under CC0 1.0 (public domain dedication).

Generated by `python -m rolodex.sample.generate` with seed {seed}: the same seed gives
byte-identical files, so edit the generator, never the files.

## The story

{people} invented people from nine countries (US, GB, DE, FR, ES, NL, IT, CA, AU) and
{companies} B2B companies. The shop's records start on 2023-06-01 (its newsletter list is a
little older); "today" is 2025-06-01.
The same people appear in several sources, and no source spells them quite like another:

- nicknames in one system and given names in another (Bob/Robert, Liz/Elizabeth,
  Paco/Francisco, Piet/Pieter), one-letter typos, JANE doe / jane doe / JANE DOE, stray
  spaces, "Last, First" in a first-name or billing-name field, accents dropped
  (Müller, Muller, Mueller);
- email addresses that differ in case, Gmail dots and googlemail.com, +tags, padding spaces,
  an old second address, and a work address at the company's domain next to a private one;
  a few role mailboxes (info@, contact@) shared by colleagues; typo domains (gmial.com,
  hotmial.com);
- phone numbers in each system's and country's style: +49 30 1234567, 030/1234567,
  (212) 555-0123, 0044 20 7946 0958, 01 23 45 67 89, E.164 with an Excel apostrophe, an
  extension, a number cell in Excel;
- households (partners sharing address and landline, different first names and emails) and
  namesakes (strangers with exactly the same name), which a matcher must not merge;
- the same person twice inside one source (a second shop account, a lead entered twice, a
  badge scanned twice at the fair).

## Files

- `shop_customers.csv` ({shop_customers} rows): Shopify customers export (contacts). UTF-8, LF.
  Customer ids, zips and phones start with `'`, the spreadsheet marker for text.
- `shop_orders.csv` ({shop_orders} rows, {orders} orders): Shopify orders export (orders), one
  row per line item; order-level fields only on an order's first row.
- `newsletter.csv` ({newsletter} rows): Mailchimp audience export (contacts). Address parts are
  joined by two spaces; Birthday is MM/DD without a year.
- `sales_leads.xlsx` ({sales_leads} rows): Salesforce leads report (contacts), sheet "Leads".
  Dates and employee counts are number cells, so are some zips (leading zeros lost) and phones.
- `messe_kontakte.csv` ({messe_kontakte} rows): hand-typed trade-fair sheet (contacts).
  Semicolon-delimited, cp1252, CRLF, German headers and country names; characters cp1252
  lacks became `?` (Łukasz -> ?ukasz).
- `support_tickets.csv` ({support_tickets} rows): Zendesk tickets export (tickets). UTF-8 with
  BOM, CRLF; requesters referenced by email, some phone tickets without one.
- `campaign_responses.ndjson` ({campaign_responses} lines): campaign events (events): sent,
  open, click and purchase per A/B arm; the control arm gets a `holdout` event instead of a
  send; purchases carry the `order` name and `revenue` in EUR.
- `TRUTH.csv` ({truth} rows): the answer key, see below.

Rows are data rows (records), not physical lines: some quoted fields hold line breaks.

## Rows an importer should not accept silently

Each file has a few: a missing record id, an amount of `N/A`, an impossible date
(`2024-02-30`, `02/30`, `N/A`, `n/a`, `yesterday`), a row with one field too many (an
unquoted comma) or too few (a truncated line), an email without a domain, an order without
an email, a trade-fair contact with neither email nor phone and one whose email is "siehe
Visitenkarte", an NDJSON line cut off mid-object and one with `"email": null`. The line-item
rows of an order that carry no order-level fields are not defects: that is Shopify's layout.

## TRUTH.csv

`file,row,record_id,person_id`: `row` is the row number an importer reports (the line a
record starts on in a CSV file, header = 1; the sheet row in the workbook; the line in the
NDJSON file); `record_id` is the source's own id where it has one; `person_id` identifies
the true person across all files. Every data row has an entry, except that
`shop_orders.csv` has one per order (at its first line, with the order name as id).
"""


def _readme(seed: int, counts: dict[str, int], business: Business, truth_rows: int) -> str:
    """Fill the README template with this run's figures."""
    figures = {Path(name).stem: f"{count:,}" for name, count in counts.items()}
    return _README.format(
        seed=seed,
        people=len(business.cast.people),
        companies=len(business.cast.companies),
        orders=f"{len(business.orders):,}",
        truth=f"{truth_rows:,}",
        **figures,
    )


def generate(out_dir: Path, *, seed: int = SEED) -> None:
    """Write the sample files, TRUTH.csv and README.md into `out_dir`.

    Args:
        out_dir: Directory to write into; created if missing, files in it overwritten.
        seed: Seed of the whole story. The same seed gives byte-identical files.

    Examples:
        >>> generate(Path("/tmp/sample"))  # doctest: +SKIP
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    business = run_business(seed)
    truth = Truth()
    counts = {
        name: writer(out_dir / name, business, truth, random.Random(f"{seed}:{name}"))
        for name, writer in WRITERS.items()
    }
    truth.save(out_dir / "TRUTH.csv")
    readme = _readme(seed, counts, business, len(truth.rows))
    (out_dir / "README.md").write_text(readme, encoding="utf-8", newline="\n")


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: regenerate the bundled sample data (or write it elsewhere)."""
    parser = argparse.ArgumentParser(
        prog="python -m rolodex.sample.generate",
        description="Write the synthetic demo data set (deterministic for a given seed).",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).parent / "data",
        help="directory to write into (default: the package's data directory)",
    )
    parser.add_argument("--seed", type=int, default=SEED, help=f"story seed (default {SEED})")
    args = parser.parse_args(argv)
    generate(args.out, seed=args.seed)
    for path in sorted(args.out.iterdir()):
        print(f"{path.stat().st_size:>9,}  {path.name}")


if __name__ == "__main__":
    main()

"""Believable Hungarian master data: names, places, companies and their identifiers.

Everything here is a pure function of a ``random.Random`` passed in by the caller, so
the demo ERP stays deterministic for a seed.  The identifiers follow the real rules:

* **adószám** (tax number) ``xxxxxxxx-y-zz``: an 8-digit base whose 8th digit is a check
  digit (weights 9, 7, 3, 1, 9, 7, 3 on the first seven digits, check =
  ``(10 - sum % 10) % 10``), ``y`` the VAT status (1 exempt, 2 general, 3 simplified,
  4 group member, 5 group representative) and ``zz`` the territorial code of the tax
  office (02–20 the counties, 22 and 41–44 Budapest and the large-taxpayer office,
  51 the priority taxpayers' office);
* **cégjegyzékszám** (company registration number) ``cc-gg-nnnnnn``: ``cc`` the court of
  registration (01 Budapest, 02–20 the county courts), ``gg`` the legal form (06 Bt.,
  09 Kft., 10 Zrt. and Nyrt.), ``nnnnnn`` a serial number;
* the EU VAT number (közösségi adószám) ``HU`` + the 8-digit base.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

# --------------------------------------------------------------------------- names

FAMILY_NAMES = (
    "Nagy", "Kovács", "Tóth", "Szabó", "Horváth", "Varga", "Kiss", "Molnár", "Németh",
    "Farkas", "Balogh", "Papp", "Takács", "Juhász", "Lakatos", "Mészáros", "Oláh", "Simon",
    "Rácz", "Fekete", "Szilágyi", "Török", "Fehér", "Balázs", "Gál", "Kis", "Szűcs",
    "Kocsis", "Pintér", "Fodor", "Szalai", "Sipos", "Magyar", "Lukács", "Gulyás", "Biró",
    "Király", "László", "Katona", "Jakab", "Bogdán", "Sándor", "Boros", "Fazekas",
    "Kelemen", "Antal", "Orosz", "Somogyi", "Fülöp", "Veres", "Budai", "Vincze", "Hegedűs",
    "Deák", "Bálint", "Illés", "Pál", "Vass", "Szőke", "Fábián", "Vörös", "Lengyel",
    "Bognár", "Bodnár", "Jónás", "Hajdu", "Halász", "Máté", "Székely", "Gáspár", "Kozma",
    "Pásztor", "Bakos", "Dudás", "Major", "Virág", "Orbán", "Barna", "Novák", "Soós",
    "Tamás", "Nemes", "Pataki", "Balla", "Erdős", "Csonka", "Benkő", "Ács", "Borbély",
)

MALE_GIVEN_NAMES = (
    "László", "István", "József", "János", "Zoltán", "Sándor", "Gábor", "Ferenc", "Attila",
    "Péter", "Tamás", "Zsolt", "Tibor", "András", "Csaba", "Imre", "Lajos", "György",
    "Balázs", "Róbert", "Mihály", "Károly", "Béla", "Dávid", "Dániel", "Ádám", "Krisztián",
    "Norbert", "Gergő", "Bence", "Máté", "Levente", "Márk", "Milán", "Kristóf", "Olivér",
    "Botond", "Viktor", "Roland", "Szabolcs", "Gyula", "Miklós", "Richárd", "Ákos", "Endre",
)

FEMALE_GIVEN_NAMES = (
    "Mária", "Erzsébet", "Katalin", "Éva", "Ilona", "Anna", "Zsuzsanna", "Margit", "Judit",
    "Ágnes", "Andrea", "Erika", "Krisztina", "Mónika", "Edit", "Gabriella", "Szilvia",
    "Anita", "Eszter", "Tímea", "Ildikó", "Viktória", "Nikolett", "Melinda", "Beáta", "Dóra",
    "Réka", "Petra", "Zsófia", "Hanna", "Lilla", "Boglárka", "Noémi", "Kitti", "Fanni",
    "Emese", "Orsolya", "Klára", "Rita", "Veronika", "Csilla", "Brigitta", "Enikő",
    "Bernadett", "Barbara",
)


@dataclass(frozen=True)
class Person:
    family: str
    given: str
    gender: str  # "male" | "female"
    birth_year: int

    @property
    def display(self) -> str:
        """Hungarian order: family name first."""
        return f"{self.family} {self.given}"

    @property
    def civility(self) -> str:
        """Dolibarr's llx_c_civility code."""
        return "MR" if self.gender == "male" else "MME"


def person(rng: random.Random, *, min_age: int = 20, max_age: int = 70, year: int = 2024) -> Person:
    gender = "female" if rng.random() < 0.5 else "male"
    given = rng.choice(FEMALE_GIVEN_NAMES if gender == "female" else MALE_GIVEN_NAMES)
    return Person(rng.choice(FAMILY_NAMES), given, gender, year - rng.randint(min_age, max_age))


def ascii_fold(text: str) -> str:
    """'Kőrösi Ügyvédi Iroda' -> 'Korosi Ugyvedi Iroda' (for e-mail addresses and domains)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def slug(text: str, sep: str = "") -> str:
    folded = ascii_fold(text).lower()
    out = []
    for ch in folded:
        if ch.isalnum():
            out.append(ch)
        elif sep and out and out[-1] != sep:
            out.append(sep)
    return "".join(out).strip(sep)


# --------------------------------------------------------------------------- places

@dataclass(frozen=True)
class City:
    name: str
    zips: tuple[str, ...]  # real postal codes of the town (Budapest: one per district sample)
    county: str  # two-digit county number: tax territorial code and court code share it
    area: str  # telephone area code ("1" for Budapest)


BUDAPEST = City(
    "Budapest",
    ("1011", "1024", "1036", "1042", "1052", "1061", "1073", "1082", "1093", "1106", "1117",
     "1126", "1134", "1144", "1152", "1165", "1173", "1184", "1191", "1204", "1211", "1223",
     "1239"),
    "01",
    "1",
)

CITIES: tuple[City, ...] = (
    BUDAPEST,
    City("Debrecen", ("4024", "4025", "4026", "4027", "4031", "4032"), "09", "52"),
    City("Szeged", ("6720", "6721", "6722", "6723", "6724", "6725"), "06", "62"),
    City("Miskolc", ("3525", "3526", "3527", "3529", "3530"), "05", "46"),
    City("Pécs", ("7621", "7622", "7623", "7624", "7626", "7632"), "02", "72"),
    City("Győr", ("9021", "9022", "9023", "9024", "9026", "9027"), "08", "96"),
    City("Nyíregyháza", ("4400", "4401"), "15", "42"),
    City("Kecskemét", ("6000",), "03", "76"),
    City("Székesfehérvár", ("8000",), "07", "22"),
    City("Szombathely", ("9700",), "18", "94"),
    City("Szolnok", ("5000",), "16", "56"),
    City("Tatabánya", ("2800",), "11", "34"),
    City("Kaposvár", ("7400",), "14", "82"),
    City("Érd", ("2030",), "13", "23"),
    City("Veszprém", ("8200",), "19", "88"),
    City("Békéscsaba", ("5600",), "04", "66"),
    City("Zalaegerszeg", ("8900",), "20", "92"),
    City("Sopron", ("9400",), "08", "99"),
    City("Eger", ("3300",), "10", "36"),
    City("Nagykanizsa", ("8800",), "20", "93"),
    City("Dunaújváros", ("2400",), "07", "25"),
    City("Hódmezővásárhely", ("6800",), "06", "62"),
    City("Dunakeszi", ("2120",), "13", "27"),
    City("Cegléd", ("2700",), "13", "53"),
    City("Baja", ("6500",), "03", "79"),
    City("Salgótarján", ("3100",), "12", "32"),
    City("Vác", ("2600",), "13", "27"),
    City("Gödöllő", ("2100",), "13", "28"),
    City("Szekszárd", ("7100",), "17", "74"),
    City("Mosonmagyaróvár", ("9200",), "08", "96"),
    City("Budaörs", ("2040",), "13", "23"),
    City("Gyöngyös", ("3200",), "10", "37"),
    City("Pápa", ("8500",), "19", "89"),
    City("Gyula", ("5700",), "04", "66"),
    City("Esztergom", ("2500",), "11", "33"),
    City("Jászberény", ("5100",), "16", "57"),
    City("Kazincbarcika", ("3700",), "05", "48"),
    City("Szentendre", ("2000",), "13", "26"),
    City("Keszthely", ("8360",), "20", "83"),
    City("Siófok", ("8600",), "14", "84"),
    City("Tata", ("2890",), "11", "34"),
    City("Paks", ("7030",), "17", "75"),
    City("Mohács", ("7700",), "02", "69"),
    City("Makó", ("6900",), "06", "62"),
)

# Budapest draws a third of the addresses, the other towns share the rest by size.
_BIG_TOWN_WEIGHTS = (6, 5, 5, 5, 5, 4, 4, 4, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2)
_CITY_WEIGHTS = (34,) + _BIG_TOWN_WEIGHTS + (1,) * (len(CITIES) - 1 - len(_BIG_TOWN_WEIGHTS))

STREETS = (
    "Petőfi Sándor utca", "Kossuth Lajos utca", "Rákóczi út", "Széchenyi István tér",
    "Ady Endre út", "József Attila utca", "Arany János utca", "Dózsa György út",
    "Bajcsy-Zsilinszky út", "Béke utca", "Szabadság tér", "Fő utca", "Deák Ferenc utca",
    "Jókai Mór utca", "Vörösmarty utca", "Hunyadi János utca", "Táncsics Mihály utca",
    "Bartók Béla út", "Kölcsey Ferenc utca", "Damjanich utca", "Zrínyi Miklós utca",
    "Mátyás király utca", "Árpád út", "Dobó István utca", "Liszt Ferenc utca",
    "Baross Gábor utca", "Klapka György utca", "Erkel Ferenc utca", "Malom utca",
    "Kert utca", "Rózsa utca", "Virág utca", "Tavasz utca", "Gyár utca", "Határ út",
    "Ipari park", "Vasút utca", "Semmelweis utca", "Munkácsy Mihály utca", "Wesselényi utca",
)

COMPANY_STREETS = ("Ipari park", "Gyár utca", "Határ út", "Vasút utca", "Váci út",
                   "Budafoki út", "Hungária körút", "Kerepesi út", "Üllői út", "Szentendrei út")


def pick_city(rng: random.Random) -> City:
    return rng.choices(CITIES, weights=_CITY_WEIGHTS, k=1)[0]


def street_address(rng: random.Random, *, company: bool = False) -> str:
    if company and rng.random() < 0.4:
        street = rng.choice(COMPANY_STREETS)
    else:
        street = rng.choice(STREETS)
    number = rng.randint(1, 120)
    suffix = ""
    roll = rng.random()
    if roll < 0.08:
        suffix = "/" + rng.choice("ABC")
    address = f"{street} {number}{suffix}."
    if not company and roll > 0.7:
        address += f" {rng.randint(1, 10)}. em. {rng.randint(1, 40)}."
    return address


def zip_code(rng: random.Random, city: City) -> str:
    return rng.choice(city.zips)


# --------------------------------------------------------------------------- phones, mails

def landline(rng: random.Random, city: City) -> str:
    if city.area == "1":
        return f"+36 1 {rng.randint(200, 499)} {rng.randint(0, 9999):04d}"
    return f"+36 {city.area} {rng.randint(200, 599)} {rng.randint(0, 999):03d}"


def mobile(rng: random.Random) -> str:
    return f"+36 {rng.choice(('20', '30', '70'))} {rng.randint(200, 999)} {rng.randint(0, 9999):04d}"


FREEMAIL_DOMAINS = ("gmail.com", "freemail.hu", "citromail.hu", "t-online.hu", "hotmail.com",
                    "yahoo.com", "outlook.hu")


def private_email(rng: random.Random, p: Person) -> str:
    family, given = slug(p.family), slug(p.given)
    pattern = rng.random()
    if pattern < 0.4:
        local = f"{family}.{given}"
    elif pattern < 0.7:
        local = f"{given}.{family}{p.birth_year % 100:02d}"
    elif pattern < 0.85:
        local = f"{family}{given[0]}"
    else:
        local = f"{given}{family}{rng.randint(1, 99)}"
    return f"{local}@{rng.choice(FREEMAIL_DOMAINS)}"


def work_email(p: Person, domain: str) -> str:
    return f"{slug(p.given)}.{slug(p.family)}@{domain}"


# --------------------------------------------------------------------------- companies

LEGAL_FORMS = {
    # form: (registration form code, share of companies)
    "Kft.": ("09", 0.70),
    "Bt.": ("06", 0.18),
    "Zrt.": ("10", 0.10),
    "Nyrt.": ("10", 0.02),
}

GEO_PREFIXES = (
    "Pannon", "Duna", "Tisza", "Alföld", "Mátra", "Bakony", "Balaton", "Hungária", "Kárpát",
    "Mecsek", "Zemplén", "Hajdú", "Kőrös", "Rába", "Dráva", "Vértes", "Pilis", "Bükk",
    "Őrség", "Nyír", "Sió", "Zala", "Kapos", "Maros", "Jászság", "Hegyalja", "Kisalföld",
    "Csepel", "Buda", "Pest",
)

# activity word, English-ish short form for "-Trade" style names, industry (customer category)
ACTIVITIES = (
    ("Építő", "Bau", "Építőipar"),
    ("Generálkivitelező", "Bau", "Építőipar"),
    ("Logisztika", "Log", "Szállítás és logisztika"),
    ("Fuvarozó", "Trans", "Szállítás és logisztika"),
    ("Kereskedelmi", "Trade", "Kereskedelem"),
    ("Nagykereskedés", "Trade", "Kereskedelem"),
    ("Informatikai", "Soft", "Informatika"),
    ("Rendszerház", "Net", "Informatika"),
    ("Gépészeti", "Tech", "Gyártás és gépészet"),
    ("Fémmegmunkáló", "Metal", "Gyártás és gépészet"),
    ("Vendéglátó", "Gastro", "Vendéglátás és turizmus"),
    ("Szálloda", "Hotel", "Vendéglátás és turizmus"),
    ("Könyvelő Iroda", "Konto", "Pénzügy és könyvelés"),
    ("Pénzügyi Tanácsadó", "Finance", "Pénzügy és könyvelés"),
    ("Mezőgazdasági", "Agro", "Mezőgazdaság"),
    ("Egészségügyi Szolgáltató", "Med", "Egészségügy"),
    ("Fogászati", "Dent", "Egészségügy"),
    ("Oktatási", "Edu", "Oktatás"),
    ("Nyomdaipari", "Print", "Gyártás és gépészet"),
    ("Ingatlanforgalmazó", "Invest", "Ingatlan"),
)


@dataclass(frozen=True)
class Company:
    name: str
    form: str
    industry: str
    domain: str
    tax_number: str
    eu_vat_number: str
    registration_number: str


def tax_check_digit(first7: str) -> int:
    """Check digit of a Hungarian tax number's 8-digit base (adószám törzsszám)."""
    weights = (9, 7, 3, 1, 9, 7, 3)
    total = sum(int(d) * w for d, w in zip(first7, weights, strict=True))
    return (10 - total % 10) % 10


def valid_tax_number(tax_number: str) -> bool:
    """True when `tax_number` is ``xxxxxxxx-y-zz`` with a correct check digit and codes."""
    parts = tax_number.split("-")
    if len(parts) != 3 or [len(p) for p in parts] != [8, 1, 2] or not all(p.isdigit() for p in parts):
        return False
    base, vat, county = parts
    if int(base[7]) != tax_check_digit(base[:7]) or base[0] == "0":
        return False
    if vat not in "12345":
        return False
    return county in TAX_OFFICE_CODES


TAX_OFFICE_CODES = frozenset(
    [f"{n:02d}" for n in range(2, 21)] + ["22", "41", "42", "43", "44", "51"]
)


def tax_base(rng: random.Random) -> str:
    first7 = str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(6))
    return first7 + str(tax_check_digit(first7))


def tax_number(rng: random.Random, *, base: str, form: str, city: City) -> str:
    if form in ("Zrt.", "Nyrt."):
        vat = rng.choices("245", weights=(80, 12, 8), k=1)[0]
    elif form == "Bt.":
        vat = rng.choices("123", weights=(20, 70, 10), k=1)[0]
    else:
        vat = rng.choices("123", weights=(8, 88, 4), k=1)[0]
    if form == "Nyrt.":
        office = "51"
    elif form == "Zrt." and rng.random() < 0.4:
        office = "44"
    elif city.county == "01":
        office = rng.choice(("41", "42", "43"))
    else:
        office = city.county
    return f"{base}-{vat}-{office}"


def registration_number(rng: random.Random, *, form: str, city: City) -> str:
    court = city.county  # 01 Fővárosi Törvényszék Cégbírósága, 02-20 the county courts
    form_code = LEGAL_FORMS[form][0]
    return f"{court}-{form_code}-{rng.randint(1, 999999):06d}"


def company(rng: random.Random, city: City, taken: set[str]) -> Company:
    """A company with a unique name, a valid tax number and a registration number."""
    forms = list(LEGAL_FORMS)
    form = rng.choices(forms, weights=[LEGAL_FORMS[f][1] for f in forms], k=1)[0]
    activity, short, industry = rng.choice(ACTIVITIES)
    style = rng.random()
    if form == "Bt." and style < 0.5:
        family = rng.choice(FAMILY_NAMES)
        core = f"{family} és Társa {activity}" if rng.random() < 0.5 else f"{family} {activity}"
    elif style < 0.45:
        core = f"{rng.choice(GEO_PREFIXES)} {activity}"
    elif style < 0.8:
        core = f"{rng.choice(GEO_PREFIXES)}-{short}"
    else:
        first, second = rng.sample(FAMILY_NAMES, 2)
        core = f"{first}-{second} {activity}"
    name = f"{core} {form}"
    serial = 2
    while name in taken:
        name = f"{core} {serial} {form}" if serial < 10 else f"{core} {serial * 111} {form}"
        serial += 1
    taken.add(name)
    domain = slug(core) + ".hu"
    base = tax_base(rng)
    return Company(
        name=name,
        form=form,
        industry=industry,
        domain=domain,
        tax_number=tax_number(rng, base=base, form=form, city=city),
        eu_vat_number="HU" + base,
        registration_number=registration_number(rng, form=form, city=city),
    )


JOB_TITLES = ("ügyvezető", "beszerző", "beszerzési vezető", "pénzügyi vezető", "irodavezető",
              "műszaki vezető", "IT-vezető", "könyvelő", "titkárnő", "raktárvezető")

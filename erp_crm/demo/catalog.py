"""What the demo company sells: an office and IT supplier with services and training.

Prices are net HUF at the start of the history; they rise with inflation over the years.
VAT rates are Hungary's: 27 % general, 18 % commercial accommodation, 5 % books.
"""

from __future__ import annotations

from dataclasses import dataclass

GOODS, SERVICE = 0, 1  # llx_product.fk_product_type


@dataclass(frozen=True, eq=False)  # one object per product: compared by identity, which is fast
class Item:
    ref: str
    label: str
    category: str
    type: int
    price: int  # net HUF at the start of the history
    vat: float
    unit_qty: tuple[int, int]  # typical quantity range on a business order
    introduced: float = 0.0  # share of the history after which it is sold (0 = from the start)
    withdrawn: float = 2.0  # share of the history after which it is no longer sold


CATEGORIES = (
    "Számítástechnika", "Hálózat", "Nyomtatás", "Irodaszer", "Irodabútor", "Szakkönyv",
    "IT-szolgáltatás", "Oktatás",
)

ITEMS: tuple[Item, ...] = (
    Item("NB-E14-I5", "Lenovo ThinkPad E14 laptop (i5, 16 GB, 512 GB SSD)", "Számítástechnika", GOODS, 329_900, 27, (1, 8), withdrawn=0.55),
    Item("NB-E14G6-I5", "Lenovo ThinkPad E14 Gen 6 laptop (i5, 16 GB, 1 TB SSD)", "Számítástechnika", GOODS, 359_900, 27, (1, 8), introduced=0.55),
    Item("NB-450-R7", "HP ProBook 450 laptop (Ryzen 7, 32 GB)", "Számítástechnika", GOODS, 389_900, 27, (1, 5)),
    Item("PC-MINI-I5", "Irodai mini PC (i5, 16 GB)", "Számítástechnika", GOODS, 219_900, 27, (1, 10)),
    Item("MON-24-IPS", "Dell 24\" IPS monitor", "Számítástechnika", GOODS, 54_900, 27, (1, 12)),
    Item("MON-27-QHD", "Dell 27\" QHD monitor", "Számítástechnika", GOODS, 89_900, 27, (1, 6)),
    Item("KB-MS-WL", "Vezeték nélküli billentyűzet és egér", "Számítástechnika", GOODS, 12_490, 27, (1, 15)),
    Item("DOCK-USBC", "USB-C dokkoló", "Számítástechnika", GOODS, 39_900, 27, (1, 8)),
    Item("SSD-1TB", "Samsung 1 TB SSD", "Számítástechnika", GOODS, 32_900, 27, (1, 5)),
    Item("SW-24G", "24 portos gigabites switch", "Hálózat", GOODS, 74_900, 27, (1, 2)),
    Item("AP-WIFI6", "WiFi 6 hozzáférési pont", "Hálózat", GOODS, 49_900, 27, (1, 6)),
    Item("UTP-CAT6-305", "Cat6 UTP kábel, 305 m", "Hálózat", GOODS, 42_900, 27, (1, 3)),
    Item("FW-SMB", "Kisvállalati tűzfal", "Hálózat", GOODS, 189_900, 27, (1, 1)),
    Item("PR-MFP-A4", "Multifunkciós lézernyomtató A4", "Nyomtatás", GOODS, 149_900, 27, (1, 3)),
    Item("TON-BK-3K", "Toner, fekete (3000 oldal)", "Nyomtatás", GOODS, 24_900, 27, (1, 6)),
    Item("TON-CMY-SET", "Toner szett, színes", "Nyomtatás", GOODS, 69_900, 27, (1, 3)),
    Item("PAP-A4-80", "Másolópapír A4, 80 g (5×500 lap)", "Nyomtatás", GOODS, 9_490, 27, (2, 20)),
    Item("IR-TOLL-50", "Golyóstoll, kék (50 db)", "Irodaszer", GOODS, 3_990, 27, (1, 6)),
    Item("IR-IRATR-10", "Iratrendező A4 (10 db)", "Irodaszer", GOODS, 6_490, 27, (1, 10)),
    Item("IR-FUZET-10", "Jegyzetfüzet A5 (10 db)", "Irodaszer", GOODS, 4_990, 27, (1, 10)),
    Item("IR-TUZO", "Tűzőgép kapoccsal", "Irodaszer", GOODS, 5_490, 27, (1, 5)),
    Item("BU-SZEK-ERG", "Ergonomikus irodaszék", "Irodabútor", GOODS, 89_900, 27, (1, 10)),
    Item("BU-ASZT-ALL", "Állítható magasságú íróasztal", "Irodabútor", GOODS, 179_900, 27, (1, 6)),
    Item("BU-SZEKR", "Irattároló szekrény", "Irodabútor", GOODS, 64_900, 27, (1, 4)),
    Item("KV-EXCEL", "Excel a gyakorlatban (szakkönyv)", "Szakkönyv", GOODS, 6_990, 5, (1, 10)),
    Item("KV-GDPR", "GDPR kézikönyv (szakkönyv)", "Szakkönyv", GOODS, 8_990, 5, (1, 5)),
    Item("KV-AFA", "Áfa-kommentár (szakkönyv)", "Szakkönyv", GOODS, 12_900, 5, (1, 3)),
    Item("SZ-TELEP-H", "Telepítés és beüzemelés (óra)", "IT-szolgáltatás", SERVICE, 14_900, 27, (2, 16)),
    Item("SZ-HELP-M", "IT-támogatás, havidíj", "IT-szolgáltatás", SERVICE, 59_900, 27, (1, 1)),
    Item("SZ-ADAT-M", "Felhőalapú adatmentés, havidíj", "IT-szolgáltatás", SERVICE, 24_900, 27, (1, 1)),
    Item("SZ-KARB-M", "Nyomtató-karbantartás, havidíj", "IT-szolgáltatás", SERVICE, 19_900, 27, (1, 1)),
    Item("SZ-HALO-D", "Hálózattervezés (nap)", "IT-szolgáltatás", SERVICE, 149_900, 27, (1, 3)),
    Item("SZ-KISZ", "Kiszállási díj", "IT-szolgáltatás", SERVICE, 9_900, 27, (1, 1)),
    Item("OK-EXCEL", "Excel tanfolyam (fő)", "Oktatás", SERVICE, 39_900, 27, (1, 12)),
    Item("OK-BIZT", "IT-biztonsági tréning (fő)", "Oktatás", SERVICE, 49_900, 27, (1, 15)),
    Item("OK-SZALL", "Tréning – szállás (fő/éj)", "Oktatás", SERVICE, 24_900, 18, (1, 15)),
)

SUBSCRIPTIONS = ("SZ-HELP-M", "SZ-ADAT-M", "SZ-KARB-M")

# what each industry tends to buy (category weights)
INDUSTRY_TASTE: dict[str, dict[str, int]] = {
    "Építőipar": {"Számítástechnika": 3, "Nyomtatás": 4, "Irodaszer": 3, "IT-szolgáltatás": 1},
    "Szállítás és logisztika": {"Számítástechnika": 3, "Hálózat": 2, "Nyomtatás": 4, "Irodaszer": 3},
    "Kereskedelem": {"Nyomtatás": 4, "Irodaszer": 5, "Számítástechnika": 2, "Irodabútor": 1},
    "Informatika": {"Számítástechnika": 6, "Hálózat": 5, "IT-szolgáltatás": 2, "Oktatás": 1},
    "Gyártás és gépészet": {"Számítástechnika": 3, "Hálózat": 2, "Nyomtatás": 3, "Irodabútor": 2, "IT-szolgáltatás": 2},
    "Vendéglátás és turizmus": {"Irodaszer": 3, "Nyomtatás": 3, "Hálózat": 2, "IT-szolgáltatás": 1},
    "Pénzügy és könyvelés": {"Szakkönyv": 4, "Nyomtatás": 4, "Irodaszer": 4, "Számítástechnika": 3, "Oktatás": 2},
    "Mezőgazdaság": {"Számítástechnika": 2, "Nyomtatás": 3, "Irodaszer": 2},
    "Egészségügy": {"Számítástechnika": 3, "Nyomtatás": 4, "Irodaszer": 3, "IT-szolgáltatás": 2},
    "Oktatás": {"Irodaszer": 5, "Nyomtatás": 4, "Számítástechnika": 3, "Szakkönyv": 2, "Irodabútor": 2},
    "Ingatlan": {"Számítástechnika": 3, "Irodabútor": 3, "Nyomtatás": 2, "Irodaszer": 2},
    "Közigazgatás": {"Irodaszer": 5, "Nyomtatás": 5, "Számítástechnika": 3, "Irodabútor": 2, "Oktatás": 1},
}

PRIVATE_TASTE = {"Számítástechnika": 5, "Irodaszer": 3, "Szakkönyv": 3, "Irodabútor": 2, "Nyomtatás": 2, "Oktatás": 1}

# month -> category boosts (school and office start, year-end budgets)
SEASON_BOOST: dict[int, dict[str, float]] = {
    1: {"Irodaszer": 1.5, "Nyomtatás": 1.3},
    8: {"Irodaszer": 2.5, "Szakkönyv": 1.5},
    9: {"Irodaszer": 2.0, "Oktatás": 1.8},
    11: {"Számítástechnika": 1.8, "Irodabútor": 1.5},
    12: {"Számítástechnika": 2.2, "Irodabútor": 1.8, "Hálózat": 1.5},
}

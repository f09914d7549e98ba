"""The subset of Dolibarr's real tables that the demo ERP and the connector use.

Table and column names, types, defaults and NOT NULL flags are Dolibarr's own (from
``htdocs/install/mysql/tables/llx_*.sql`` of Dolibarr 17–20, where the amount columns
of llx_propal, llx_commande and llx_facture are ``total_ht``/``total_tva``/``total_ttc``);
only columns nobody here reads were left out.  The description below is written once in
MySQL/MariaDB syntax (the real DDL) and rendered for three dialects:

* ``mysql`` (also ``mariadb``): the real DDL, for integration tests on MariaDB;
* ``sqlite``: the demo ERP;
* ``postgresql``: as Dolibarr's own installer converts it (for benchmarks).

Indexes are Dolibarr's ``*.key.sql`` ones on the foreign keys the sync reads by.

Run ``python -m erp_crm.demo.dolibarr_schema mysql`` to print the DDL.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

TMS = "timestamp DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP"

# the columns llx_propaldet, llx_commandedet and llx_facturedet share after their parent key
_LINE = """
        fk_parent_line integer NULL
        fk_product integer NULL
        label varchar(255) DEFAULT NULL
        description text
        vat_src_code varchar(10) DEFAULT ''
        tva_tx double(7,4) DEFAULT 0
        qty real
        remise_percent real DEFAULT 0
        remise real DEFAULT 0
        price real
        subprice double(24,8) DEFAULT 0
        total_ht double(24,8) DEFAULT 0
        total_tva double(24,8) DEFAULT 0
        total_ttc double(24,8) DEFAULT 0
        product_type integer DEFAULT 0
        info_bits integer DEFAULT 0
        buy_price_ht double(24,8) DEFAULT 0
        special_code integer DEFAULT 0
        rang integer DEFAULT 0
        fk_unit integer DEFAULT NULL
        multicurrency_subprice double(24,8) DEFAULT 0
        multicurrency_total_ht double(24,8) DEFAULT 0
        multicurrency_total_tva double(24,8) DEFAULT 0
        multicurrency_total_ttc double(24,8) DEFAULT 0
"""
# the last columns of llx_propal, llx_commande and llx_facture
_DOC_CURRENCY = """
        fk_multicurrency integer
        multicurrency_code varchar(3)
        multicurrency_tx double(24,8) DEFAULT 1
        multicurrency_total_ht double(24,8) DEFAULT 0
        multicurrency_total_tva double(24,8) DEFAULT 0
        multicurrency_total_ttc double(24,8) DEFAULT 0
        import_key varchar(14)
"""

# table -> (columns in Dolibarr's MySQL syntax, one per line; "PRIMARY KEY (...)" lines allowed)
_TABLES: dict[str, str] = {
    # ---------------------------------------------------------------- dictionaries
    "llx_c_country": """
        rowid integer PRIMARY KEY
        code varchar(2) NOT NULL
        code_iso varchar(3)
        label varchar(128) NOT NULL
        eec tinyint DEFAULT 0 NOT NULL
        active tinyint DEFAULT 1 NOT NULL
        favorite tinyint DEFAULT 0 NOT NULL
    """,
    "llx_c_typent": """
        id integer AUTO_INCREMENT PRIMARY KEY
        code varchar(12) NOT NULL
        libelle varchar(128)
        fk_country integer NULL
        active tinyint DEFAULT 1 NOT NULL
        module varchar(32) NULL
        position integer NOT NULL DEFAULT 0
    """,
    "llx_c_paiement": """
        id integer AUTO_INCREMENT PRIMARY KEY
        entity integer DEFAULT 1 NOT NULL
        code varchar(6) NOT NULL
        libelle varchar(128)
        type smallint
        active tinyint DEFAULT 1 NOT NULL
        accountancy_code varchar(32) NULL
        module varchar(32) NULL
        position integer NOT NULL DEFAULT 0
    """,
    "llx_c_ticket_type": """
        rowid integer AUTO_INCREMENT PRIMARY KEY
        entity integer DEFAULT 1
        code varchar(32) NOT NULL
        pos varchar(32) NOT NULL
        label varchar(128) NOT NULL
        active integer DEFAULT 1
        use_default integer DEFAULT 1
        description varchar(255)
    """,
    # ---------------------------------------------------------------- users, third parties
    "llx_user": f"""
        rowid integer AUTO_INCREMENT PRIMARY KEY
        entity integer DEFAULT 1 NOT NULL
        ref_employee varchar(50)
        employee tinyint DEFAULT 1
        datec datetime
        tms {TMS}
        login varchar(50) NOT NULL
        gender varchar(10)
        civility varchar(6)
        lastname varchar(50)
        firstname varchar(50)
        job varchar(128)
        office_phone varchar(20)
        user_mobile varchar(20)
        email varchar(255)
        admin smallint DEFAULT 0
        statut tinyint DEFAULT 1
        lang varchar(6)
        dateemployment date
        dateemploymentend date
    """,
    "llx_societe": f"""
        rowid integer AUTO_INCREMENT PRIMARY KEY
        nom varchar(128)
        name_alias varchar(128) NULL
        entity integer DEFAULT 1 NOT NULL
        ref_ext varchar(255)
        statut tinyint DEFAULT 0
        parent integer
        status tinyint DEFAULT 1
        code_client varchar(24)
        code_fournisseur varchar(24)
        address varchar(255)
        zip varchar(25)
        town varchar(50)
        fk_departement integer DEFAULT 0
        fk_pays integer DEFAULT 0
        phone varchar(30)
        phone_mobile varchar(30)
        fax varchar(30)
        url varchar(255)
        email varchar(128)
        fk_effectif integer DEFAULT 0
        fk_typent integer DEFAULT NULL
        fk_forme_juridique integer DEFAULT 0
        siren varchar(128)
        siret varchar(128)
        ape varchar(128)
        idprof4 varchar(128)
        tva_intra varchar(20)
        capital double(24,8) DEFAULT NULL
        fk_stcomm integer DEFAULT 0 NOT NULL
        note_private text
        note_public text
        client tinyint DEFAULT 0
        fournisseur tinyint DEFAULT 0
        fk_prospectlevel varchar(12)
        customer_bad tinyint DEFAULT 0
        remise_client real DEFAULT 0
        mode_reglement tinyint
        cond_reglement tinyint
        tva_assuj tinyint DEFAULT 1
        outstanding_limit double(24,8) DEFAULT NULL
        default_lang varchar(6)
        tms {TMS}
        datec datetime
        fk_user_creat integer NULL
        fk_user_modif integer
        fk_multicurrency integer
        multicurrency_code varchar(3)
        import_key varchar(14)
    """,
    "llx_societe_commerciaux": """
        rowid integer AUTO_INCREMENT PRIMARY KEY
        fk_soc integer
        fk_user integer
        import_key varchar(14)
    """,
    "llx_socpeople": f"""
        rowid integer AUTO_INCREMENT PRIMARY KEY
        datec datetime
        tms {TMS}
        fk_soc integer
        entity integer DEFAULT 1 NOT NULL
        ref_ext varchar(255)
        civility varchar(6)
        lastname varchar(50)
        firstname varchar(50)
        address varchar(255)
        zip varchar(25)
        town varchar(255)
        fk_departement integer
        fk_pays integer DEFAULT 0
        birthday date
        poste varchar(255)
        phone varchar(30)
        phone_perso varchar(30)
        phone_mobile varchar(30)
        fax varchar(30)
        email varchar(255)
        no_email smallint NOT NULL DEFAULT 0
        priv smallint NOT NULL DEFAULT 0
        fk_user_creat integer DEFAULT 0
        fk_user_modif integer
        note_private text
        default_lang varchar(6)
        statut tinyint DEFAULT 1 NOT NULL
        import_key varchar(14)
    """,
    # ---------------------------------------------------------------- products, categories
    "llx_product": f"""
        rowid integer AUTO_INCREMENT PRIMARY KEY
        ref varchar(128) NOT NULL
        entity integer DEFAULT 1 NOT NULL
        ref_ext varchar(255)
        datec datetime
        tms {TMS}
        fk_parent integer DEFAULT 0
        label varchar(255) NOT NULL
        description text
        price double(24,8) DEFAULT 0
        price_ttc double(24,8) DEFAULT 0
        price_min double(24,8) DEFAULT 0
        price_min_ttc double(24,8) DEFAULT 0
        price_base_type varchar(3) DEFAULT 'HT'
        tva_tx double(7,4)
        fk_user_author integer DEFAULT NULL
        fk_user_modif integer
        tosell tinyint DEFAULT 1
        tobuy tinyint DEFAULT 1
        fk_product_type integer DEFAULT 0
        duration varchar(6)
        stock real
        pmp double(24,8) DEFAULT 0 NOT NULL
        finished tinyint DEFAULT NULL
        fk_unit integer DEFAULT NULL
        import_key varchar(14)
    """,
    "llx_categorie": f"""
        rowid integer AUTO_INCREMENT PRIMARY KEY
        entity integer DEFAULT 1 NOT NULL
        fk_parent integer DEFAULT 0 NOT NULL
        label varchar(180) NOT NULL
        ref_ext varchar(255)
        type integer DEFAULT 1 NOT NULL
        description text
        color varchar(8)
        position integer DEFAULT 0
        visible tinyint DEFAULT 1 NOT NULL
        date_creation datetime
        tms {TMS}
        fk_user_creat integer
        fk_user_modif integer
        import_key varchar(14)
    """,
    "llx_categorie_product": """
        fk_categorie integer NOT NULL
        fk_product integer NOT NULL
        import_key varchar(14)
        PRIMARY KEY (fk_categorie, fk_product)
    """,
    "llx_categorie_societe": """
        fk_categorie integer NOT NULL
        fk_soc integer NOT NULL
        import_key varchar(14)
        PRIMARY KEY (fk_categorie, fk_soc)
    """,
    # ---------------------------------------------------------------- proposals (quotes)
    "llx_propal": f"""
        rowid integer AUTO_INCREMENT PRIMARY KEY
        ref varchar(30) NOT NULL
        entity integer DEFAULT 1 NOT NULL
        ref_ext varchar(255)
        ref_client varchar(255)
        fk_soc integer
        fk_projet integer DEFAULT NULL
        tms {TMS}
        datec datetime
        datep date
        fin_validite datetime
        date_valid datetime
        date_signature datetime
        date_cloture datetime
        fk_user_author integer
        fk_user_modif integer
        fk_user_valid integer
        fk_user_signature integer
        fk_user_cloture integer
        fk_statut smallint DEFAULT 0 NOT NULL
        price real DEFAULT 0
        remise_percent real DEFAULT 0
        remise_absolue real DEFAULT 0
        remise real DEFAULT 0
        total_ht double(24,8) DEFAULT 0
        total_tva double(24,8) DEFAULT 0
        localtax1 double(24,8) DEFAULT 0
        localtax2 double(24,8) DEFAULT 0
        total_ttc double(24,8) DEFAULT 0
        fk_account integer
        fk_currency varchar(3)
        fk_cond_reglement integer
        fk_mode_reglement integer
        note_private text
        note_public text
        date_livraison date DEFAULT NULL
{_DOC_CURRENCY}""",
    "llx_propaldet": f"""
        rowid integer AUTO_INCREMENT PRIMARY KEY
        fk_propal integer NOT NULL
{_LINE}""",
    # ---------------------------------------------------------------- customer orders
    "llx_commande": f"""
        rowid integer AUTO_INCREMENT PRIMARY KEY
        ref varchar(30) NOT NULL
        entity integer DEFAULT 1 NOT NULL
        ref_ext varchar(255)
        ref_client varchar(255)
        fk_soc integer NOT NULL
        fk_projet integer DEFAULT NULL
        tms {TMS}
        date_creation datetime
        date_valid datetime
        date_cloture datetime
        date_commande date
        fk_user_author integer
        fk_user_modif integer
        fk_user_valid integer
        fk_user_cloture integer
        source smallint
        fk_statut smallint DEFAULT 0
        amount_ht double(24,8) DEFAULT 0
        remise_percent real DEFAULT 0
        remise_absolue real DEFAULT 0
        remise real DEFAULT 0
        total_tva double(24,8) DEFAULT 0
        localtax1 double(24,8) DEFAULT 0
        localtax2 double(24,8) DEFAULT 0
        total_ht double(24,8) DEFAULT 0
        total_ttc double(24,8) DEFAULT 0
        note_private text
        note_public text
        facture tinyint DEFAULT 0
        fk_account integer
        fk_currency varchar(3)
        fk_cond_reglement integer
        fk_mode_reglement integer
        date_livraison date DEFAULT NULL
{_DOC_CURRENCY}""",
    "llx_commandedet": f"""
        rowid integer AUTO_INCREMENT PRIMARY KEY
        fk_commande integer NOT NULL
{_LINE}""",
    # ---------------------------------------------------------------- customer invoices
    "llx_facture": f"""
        rowid integer AUTO_INCREMENT PRIMARY KEY
        ref varchar(30) NOT NULL
        entity integer DEFAULT 1 NOT NULL
        ref_ext varchar(255)
        ref_client varchar(255)
        type smallint DEFAULT 0 NOT NULL
        fk_soc integer NOT NULL
        datec datetime
        datef date
        date_pointoftax date DEFAULT NULL
        date_valid date
        tms {TMS}
        date_closing datetime
        paye smallint DEFAULT 0 NOT NULL
        remise_percent real DEFAULT 0
        remise_absolue real DEFAULT 0
        remise real DEFAULT 0
        close_code varchar(16)
        close_note varchar(128)
        total_tva double(24,8) DEFAULT 0
        localtax1 double(24,8) DEFAULT 0
        localtax2 double(24,8) DEFAULT 0
        revenuestamp double(24,8) DEFAULT 0
        total_ht double(24,8) DEFAULT 0
        total_ttc double(24,8) DEFAULT 0
        fk_statut smallint DEFAULT 0 NOT NULL
        fk_user_author integer
        fk_user_modif integer
        fk_user_valid integer
        fk_user_closing integer
        module_source varchar(32)
        pos_source varchar(32)
        fk_fac_rec_source integer
        fk_facture_source integer
        fk_projet integer DEFAULT NULL
        fk_account integer
        fk_currency varchar(3)
        fk_cond_reglement integer DEFAULT 1 NOT NULL
        fk_mode_reglement integer
        date_lim_reglement date
        note_private text
        note_public text
{_DOC_CURRENCY}""",
    "llx_facturedet": f"""
        rowid integer AUTO_INCREMENT PRIMARY KEY
        fk_facture integer NOT NULL
{_LINE}        fk_remise_except integer NULL
        date_start datetime DEFAULT NULL
        date_end datetime DEFAULT NULL
        fk_code_ventilation integer DEFAULT 0 NOT NULL
    """,
    # ---------------------------------------------------------------- payments
    "llx_paiement": f"""
        rowid integer AUTO_INCREMENT PRIMARY KEY
        ref varchar(30) NULL
        ref_ext varchar(255) NULL
        entity integer DEFAULT 1 NOT NULL
        datec datetime
        tms {TMS}
        datep datetime
        amount double(24,8) DEFAULT 0
        multicurrency_amount double(24,8) DEFAULT 0
        fk_paiement integer NOT NULL
        num_paiement varchar(50)
        note text
        fk_bank integer NOT NULL DEFAULT 0
        fk_user_creat integer
        fk_user_modif integer
        statut smallint DEFAULT 0 NOT NULL
        fk_export_compta integer DEFAULT 0 NOT NULL
    """,
    "llx_paiement_facture": """
        rowid integer AUTO_INCREMENT PRIMARY KEY
        fk_paiement integer
        fk_facture integer
        amount double(24,8) DEFAULT 0
        multicurrency_code varchar(3)
        multicurrency_tx double(24,8) DEFAULT 1
        multicurrency_amount double(24,8) DEFAULT 0
    """,
    # ---------------------------------------------------------------- links between documents
    "llx_element_element": """
        rowid integer AUTO_INCREMENT PRIMARY KEY
        fk_source integer NOT NULL
        sourcetype varchar(64) NOT NULL
        fk_target integer NOT NULL
        targettype varchar(64) NOT NULL
    """,
    # ---------------------------------------------------------------- tickets
    "llx_ticket": f"""
        rowid integer AUTO_INCREMENT PRIMARY KEY
        entity integer DEFAULT 1
        ref varchar(128) NOT NULL
        track_id varchar(128) NOT NULL
        fk_soc integer DEFAULT 0
        fk_project integer DEFAULT 0
        fk_contract integer DEFAULT 0
        origin_email varchar(128)
        fk_user_create integer
        fk_user_assign integer
        subject varchar(255)
        message text
        fk_statut integer
        resolution integer
        progress integer DEFAULT 0
        timing varchar(20)
        type_code varchar(32)
        category_code varchar(32)
        severity_code varchar(32)
        datec datetime
        date_read datetime
        date_last_msg_sent datetime
        date_close datetime
        notify_tiers_at_create tinyint
        email_msgid varchar(255)
        tms {TMS}
        import_key varchar(14)
    """,
}

# (table, index name, columns, unique) — from Dolibarr's *.key.sql files
_INDEXES: tuple[tuple[str, str, tuple[str, ...], bool], ...] = (
    ("llx_c_country", "idx_c_country_code", ("code",), True),
    ("llx_c_typent", "uk_c_typent", ("code",), True),
    ("llx_c_paiement", "uk_c_paiement_code", ("entity", "code"), True),
    ("llx_c_ticket_type", "uk_c_ticket_type_code", ("code", "entity"), True),
    ("llx_user", "uk_user_login", ("login", "entity"), True),
    ("llx_societe", "uk_societe_code_client", ("code_client", "entity"), True),
    ("llx_societe", "idx_societe_user_creat", ("fk_user_creat",), False),
    ("llx_societe_commerciaux", "uk_societe_commerciaux", ("fk_soc", "fk_user"), True),
    ("llx_socpeople", "idx_socpeople_fk_soc", ("fk_soc",), False),
    ("llx_product", "uk_product_ref", ("ref", "entity"), True),
    ("llx_categorie", "uk_categorie_ref", ("entity", "fk_parent", "label", "type"), True),
    ("llx_categorie_product", "idx_categorie_product_fk_product", ("fk_product",), False),
    ("llx_categorie_societe", "idx_categorie_societe_fk_soc", ("fk_soc",), False),
    ("llx_propal", "uk_propal_ref", ("ref", "entity"), True),
    ("llx_propal", "idx_propal_fk_soc", ("fk_soc",), False),
    ("llx_propal", "idx_propal_fk_user_author", ("fk_user_author",), False),
    ("llx_propaldet", "idx_propaldet_fk_propal", ("fk_propal",), False),
    ("llx_propaldet", "idx_propaldet_fk_product", ("fk_product",), False),
    ("llx_commande", "uk_commande_ref", ("ref", "entity"), True),
    ("llx_commande", "idx_commande_fk_soc", ("fk_soc",), False),
    ("llx_commande", "idx_commande_fk_user_author", ("fk_user_author",), False),
    ("llx_commandedet", "idx_commandedet_fk_commande", ("fk_commande",), False),
    ("llx_commandedet", "idx_commandedet_fk_product", ("fk_product",), False),
    ("llx_facture", "uk_facture_ref", ("ref", "entity"), True),
    ("llx_facture", "idx_facture_fk_soc", ("fk_soc",), False),
    ("llx_facture", "idx_facture_fk_user_author", ("fk_user_author",), False),
    ("llx_facture", "idx_facture_fk_facture_source", ("fk_facture_source",), False),
    ("llx_facturedet", "idx_facturedet_fk_facture", ("fk_facture",), False),
    ("llx_facturedet", "idx_facturedet_fk_product", ("fk_product",), False),
    ("llx_paiement_facture", "uk_paiement_facture", ("fk_paiement", "fk_facture"), True),
    ("llx_paiement_facture", "idx_paiement_facture_fk_facture", ("fk_facture",), False),
    ("llx_paiement_facture", "idx_paiement_facture_fk_paiement", ("fk_paiement",), False),
    ("llx_element_element", "idx_element_element_idx1",
     ("fk_source", "sourcetype", "fk_target", "targettype"), True),
    ("llx_element_element", "idx_element_element_fk_target", ("fk_target",), False),
    ("llx_ticket", "uk_ticket_ref", ("ref", "entity"), True),
    ("llx_ticket", "uk_ticket_track_id", ("track_id",), True),
    ("llx_ticket", "idx_ticket_fk_soc", ("fk_soc",), False),
    ("llx_ticket", "idx_ticket_fk_user_assign", ("fk_user_assign",), False),
)


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # MySQL type as Dolibarr writes it: "integer", "varchar(30)", "double(24,8)", ...
    not_null: bool
    default: str | None  # SQL literal, or None
    primary_key: bool
    auto_increment: bool
    on_update_now: bool

    @property
    def base_type(self) -> str:
        return self.type.split("(")[0].lower()

    @property
    def is_date(self) -> bool:
        return self.base_type in ("date", "datetime", "timestamp")


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


_COL_RE = re.compile(r"^(\w+)\s+(\w+(?:\(\d+(?:,\d+)?\))?(?:\s+UNSIGNED)?)(.*)$", re.IGNORECASE)


def _parse_column(line: str) -> Column:
    match = _COL_RE.match(line)
    if not match:
        raise ValueError(f"cannot parse column line: {line!r}")
    name, typ, rest = match.group(1), match.group(2), match.group(3)
    rest_upper = rest.upper()
    default = None
    dmatch = re.search(r"DEFAULT\s+('(?:[^']*)'|[-\w.]+)", rest, re.IGNORECASE)
    if dmatch:
        default = dmatch.group(1)
        if default.upper() == "NULL":
            default = None
    return Column(
        name=name,
        type=typ,
        not_null="NOT NULL" in rest_upper,
        default=default,
        primary_key="PRIMARY KEY" in rest_upper,
        auto_increment="AUTO_INCREMENT" in rest_upper,
        on_update_now="ON UPDATE" in rest_upper,
    )


def _parse(name: str, body: str) -> Table:
    columns: list[Column] = []
    pk: tuple[str, ...] = ()
    for raw in body.strip().splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.upper().startswith("PRIMARY KEY"):
            pk = tuple(c.strip() for c in line[line.index("(") + 1 : line.rindex(")")].split(","))
            continue
        col = _parse_column(line)
        columns.append(col)
        if col.primary_key:
            pk = (col.name,)
    return Table(name, tuple(columns), pk)


TABLES: dict[str, Table] = {name: _parse(name, body) for name, body in _TABLES.items()}
TABLE_NAMES: tuple[str, ...] = tuple(TABLES)
INDEXES = _INDEXES

DIALECTS = ("mysql", "mariadb", "sqlite", "postgresql")


def _type_for(col: Column, dialect: str) -> str:
    base = col.base_type
    if dialect == "mysql":
        return col.type
    if dialect == "sqlite":
        if base in ("integer", "int", "tinyint", "smallint", "bigint"):
            return "INTEGER"
        if base in ("double", "real", "float", "decimal"):
            return "REAL"
        if base == "varchar":
            return col.type.upper()
        if base in ("text", "mediumtext", "longtext"):
            return "TEXT"
        if base == "date":
            return "DATE"
        return "DATETIME"  # datetime, timestamp
    # postgresql
    if col.auto_increment:
        return "SERIAL"
    return {
        "integer": "integer", "int": "integer", "tinyint": "smallint", "smallint": "smallint",
        "double": "double precision", "real": "real", "float": "real", "text": "text",
        "mediumtext": "text", "date": "date", "datetime": "timestamp", "timestamp": "timestamp",
    }.get(base, col.type)


def _column_ddl(col: Column, dialect: str, single_pk: bool) -> str:
    parts = [col.name, _type_for(col, dialect)]
    if dialect == "mysql" and col.auto_increment:
        parts.append("AUTO_INCREMENT")
    if col.primary_key and single_pk:
        parts.append("PRIMARY KEY")
    if col.default is not None:
        parts.append(f"DEFAULT {col.default}")
    if dialect == "mysql" and col.on_update_now:
        parts.append("ON UPDATE CURRENT_TIMESTAMP")
    if col.not_null and not col.primary_key:
        parts.append("NOT NULL")
    return " ".join(parts)


def create_statements(dialect: str) -> list[str]:
    """CREATE TABLE and CREATE INDEX statements for `dialect` (mysql/mariadb, sqlite, postgresql)."""
    if dialect == "mariadb":
        dialect = "mysql"
    if dialect not in ("mysql", "sqlite", "postgresql"):
        raise ValueError(f"unsupported dialect {dialect!r}; expected one of {', '.join(DIALECTS)}")
    out: list[str] = []
    for table in TABLES.values():
        single = len(table.primary_key) == 1
        lines = [_column_ddl(c, dialect, single) for c in table.columns]
        if not single:
            lines.append(f"PRIMARY KEY ({', '.join(table.primary_key)})")
        if dialect == "mysql":  # one statement per table: DDL is slow on InnoDB
            for owner, name, cols, unique in INDEXES:
                if owner == table.name:
                    lines.append(f"{'UNIQUE KEY' if unique else 'KEY'} {name} ({', '.join(cols)})")
        body = ",\n  ".join(lines)
        tail = ") ENGINE=innodb DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci" if dialect == "mysql" else ")"
        out.append(f"CREATE TABLE {table.name} (\n  {body}\n{tail}")
    if dialect != "mysql":
        for owner, name, cols, unique in INDEXES:
            kind = "UNIQUE INDEX" if unique else "INDEX"
            out.append(f"CREATE {kind} {name} ON {owner} ({', '.join(cols)})")
    return out


def render(dialect: str) -> str:
    """The whole DDL as one script."""
    return ";\n\n".join(create_statements(dialect)) + ";\n"


def dialect_of(conn: Connection) -> str:
    name = conn.dialect.name
    if name in ("mysql", "mariadb"):
        return "mysql"
    if name in ("sqlite", "postgresql"):
        return name
    raise ValueError(f"the demo ERP supports MySQL/MariaDB, SQLite and PostgreSQL, not {name}")


def create_schema(conn: Connection, *, drop: bool = False) -> None:
    """Create the Dolibarr tables on `conn` (in its current transaction)."""
    dialect = dialect_of(conn)
    if drop:
        if dialect == "sqlite":
            for name in reversed(TABLE_NAMES):
                conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
        else:
            conn.execute(text(f"DROP TABLE IF EXISTS {', '.join(reversed(TABLE_NAMES))}"))
    for stmt in create_statements(dialect):
        conn.execute(text(stmt))


if __name__ == "__main__":  # pragma: no cover - a developer's helper
    sys.stdout.write(render(sys.argv[1] if len(sys.argv) > 1 else "mysql"))

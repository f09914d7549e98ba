"""Lines of MariaDB's SHOW GRANTS read into privileges, objects and grantees, hostile names included.

The read-only guard decides from these lines whether a user may write, so a name that
looks like SQL (a column called `a ON b`, a role with a backtick) must not move a
privilege to another object or hide it.
"""

from __future__ import annotations

import pytest

from erp_crm.sync.privileges import Grant, _covers, _described, parse_grant, summary


@pytest.mark.parametrize(
    "line, grant",
    [
        ("GRANT USAGE ON *.* TO `u`@`%` IDENTIFIED BY PASSWORD '*D821'", Grant((("USAGE", False),), None, None, "u@%")),
        ("GRANT SELECT, INSERT ON `erp`.* TO `u`@`%`", Grant((("SELECT", False), ("INSERT", False)), "erp", None, "u@%")),
        ("GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION", Grant((("ALL PRIVILEGES", False),), None, None, "root@localhost")),
        ("GRANT SELECT (`a`), UPDATE (`b`, `c`) ON `erp`.`fac` TO `r`", Grant((("SELECT", True), ("UPDATE", True)), "erp", "fac", "r")),
        ("GRANT DELETE HISTORY ON `erp\\_%`.* TO PUBLIC", Grant((("DELETE HISTORY", False),), "erp\\_%", None, "PUBLIC")),
        ("GRANT ALTER ROUTINE ON PROCEDURE `erp`.`p` TO `u`@`%`", Grant((("ALTER ROUTINE", False),), "erp", "p", "u@%")),
        # Names that look like SQL stay names.
        ("GRANT UPDATE (`a ON b`, `c TO d`) ON `e``rp`.`t ON x` TO `r``o`", Grant((("UPDATE", True),), "e`rp", "t ON x", "r`o")),
        ("GRANT INSERT ON `ON`.`TO` TO `GRANT`@`%`", Grant((("INSERT", False),), "ON", "TO", "GRANT@%")),
    ],
)
def test_grant_lines_are_read(line: str, grant: Grant) -> None:
    assert parse_grant(line) == grant


@pytest.mark.parametrize(
    "line",
    [
        "GRANT `writer` TO `u`@`%`",
        "GRANT `a ON b` TO `u`@`%`",
        "GRANT PROXY ON ''@'%' TO 'root'@'localhost' WITH GRANT OPTION",
        "SET DEFAULT ROLE `writer` FOR `u`@`%`",
        "",
    ],
)
def test_lines_that_grant_no_privilege_are_left_out(line: str) -> None:
    assert parse_grant(line) is None


@pytest.mark.parametrize(
    "name, database, covered",
    [
        ("erp", "erp", True),
        ("erp_db", "erpXdb", True),  # `_` is a wildcard in a database-wide grant
        ("erp\\_db", "erpXdb", False),
        ("erp\\_db", "erp_db", True),
        ("erp%", "erp_2024", True),
        ("erp\\%", "erp_2024", False),
        ("other", "erp", False),
        ("ERP", "erp", True),  # conservative where the server may compare without case
    ],
)
def test_database_wide_grants_reach_the_erp_by_pattern(name: str, database: str, covered: bool) -> None:
    assert _covers(Grant((("INSERT", False),), name, None, "u@%"), database) is covered


def test_a_table_grant_reaches_only_its_own_database() -> None:
    assert not _covers(Grant((("INSERT", False),), "erp_db", "fac", "u@%"), "erpXdb")


def test_descriptions_name_the_privilege_the_object_and_where_it_comes_from() -> None:
    grant = Grant((("SELECT", True), ("UPDATE", True), ("DROP", False)), "erp", "fac", "writer")
    assert list(_described(grant, "u")) == ["UPDATE on columns of erp.fac through role writer", "DROP on erp.fac through role writer"]
    assert list(_described(Grant((("FILE", False),), None, None, "u@%"), "u")) == ["FILE on *.*"]


def test_summary_names_eight_and_counts_the_rest() -> None:
    found = [f"INSERT on t{i}" for i in range(11)] + ["INSERT on t0"]
    assert summary(found) == ", ".join(f"INSERT on t{i}" for i in range(8)) + " and 3 more"
    assert summary([]) is None

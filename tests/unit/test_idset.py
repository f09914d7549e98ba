"""Temporary id sets on a connection that a long-lived process reuses from its pool."""

from __future__ import annotations

import sqlalchemy as sa

from erp_crm.store.idset import id_set


def test_an_id_set_left_over_by_a_rolled_back_block_does_not_stop_the_next_one() -> None:
    engine = sa.create_engine("sqlite://")
    with engine.connect() as conn:
        conn.exec_driver_sql("CREATE TEMPORARY TABLE erp_crm_ids (id INTEGER PRIMARY KEY)")  # what a rolled-back block leaves
        conn.exec_driver_sql("INSERT INTO erp_crm_ids VALUES (99)")
        with id_set(conn, [3, 1, 2, 2]) as ids:
            assert sorted(conn.execute(ids).scalars()) == [1, 2, 3]
        assert not sa.inspect(conn).has_table("erp_crm_ids")

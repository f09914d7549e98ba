"""Chains as people read them: versions, enrolments by state, and what each step did."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from erp_crm.model.tables.chains import chain, chain_version, enrolment, step_log


def chains_overview(conn: Connection) -> dict[str, dict[str, Any]]:
    """{chain name: {"version": newest published, "published_at": …, "enrolments": {status: n}}}."""
    out: dict[str, dict[str, Any]] = {}
    newest = (
        sa.select(chain.c.name, sa.func.max(chain_version.c.version), sa.func.max(chain_version.c.published_at))
        .join(chain_version, chain_version.c.chain_id == chain.c.id)
        .group_by(chain.c.name)
    )
    for name, version, published_at in conn.execute(newest):
        out[name] = {"version": version, "published_at": published_at, "enrolments": {}}
    counts = (
        sa.select(chain.c.name, enrolment.c.status, sa.func.count())
        .join(enrolment, enrolment.c.chain_id == chain.c.id)
        .group_by(chain.c.name, enrolment.c.status)
    )
    for name, status, n in conn.execute(counts):
        out.setdefault(name, {"version": None, "published_at": None, "enrolments": {}})["enrolments"][status] = n
    return out


def chain_status(conn: Connection, name: str) -> dict[str, Any] | None:
    """Per version: enrolments by state, how many wait at each step now, and each step's outcomes so far.

    `steps` holds every step of the version in the chain's order (a step no one has
    reached yet with no outcomes), then `end`, where enrolments that ended are counted.
    """
    chain_id = conn.execute(sa.select(chain.c.id).where(chain.c.name == name)).scalar()
    if chain_id is None:
        return None
    versions: dict[int, dict[str, Any]] = {}
    for version_id, number, published_at, definition in conn.execute(
        sa.select(chain_version.c.id, chain_version.c.version, chain_version.c.published_at, chain_version.c.definition)
        .where(chain_version.c.chain_id == chain_id)
        .order_by(chain_version.c.version)
    ):
        steps: dict[str, dict[str, int]] = {step: {} for step in _step_ids(definition)}
        versions[version_id] = {"version": number, "published_at": published_at, "enrolments": {}, "at_step": {}, "steps": steps}
    e = enrolment.c
    for version_id, status, n in conn.execute(
        sa.select(e.version_id, e.status, sa.func.count()).where(e.chain_id == chain_id).group_by(e.version_id, e.status)
    ):
        versions[version_id]["enrolments"][status] = n
    waiting = sa.select(e.version_id, e.step, sa.func.count()).where(e.chain_id == chain_id, e.status == "active").group_by(e.version_id, e.step)
    for version_id, step, n in conn.execute(waiting):
        versions[version_id]["at_step"][step] = n
    s = step_log.c
    outcomes = (
        sa.select(e.version_id, s.step, s.outcome, sa.func.count())
        .join(enrolment, enrolment.c.id == s.enrolment_id)
        .where(e.chain_id == chain_id)
        .group_by(e.version_id, s.step, s.outcome)
    )
    for version_id, step, outcome, n in conn.execute(outcomes):
        versions[version_id]["steps"].setdefault(step, {})[outcome] = n
    return {"chain": name, "versions": list(versions.values())}


def _step_ids(definition: Any) -> list[str]:
    """The step ids of a published definition in its order, named as the chain reader names them (`step-3` for the third without an id)."""
    steps = definition.get("steps") if isinstance(definition, dict) else None
    if not isinstance(steps, list):
        return []
    return [str(step["id"]) if isinstance(step, dict) and step.get("id") is not None else f"step-{n}" for n, step in enumerate(steps, 1)]

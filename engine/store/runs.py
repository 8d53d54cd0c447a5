"""The log of runs (index, remove ...): when each started and finished, how it ended, what it did."""

from __future__ import annotations

import json
import time

from sqlalchemy import Engine, insert, select, update

from anyseek.engine.store.models import RunRow


class RunLog:
    """Part of Store (see store.py)."""

    engine: Engine

    def start_run(self, command: str) -> int:
        with self.engine.begin() as conn:
            return conn.execute(
                insert(RunRow)
                .values(command=command, started_at=time.time(), status="running", stats="{}")
                .returning(RunRow.id)
            ).scalar_one()

    def finish_run(self, run_id: int, status: str, stats: dict, reason: str | None = None) -> None:
        """`reason`: why a run was refused or failed, in the words the user saw (kept with its stats, so
        the runs table needs no new column)."""
        if reason:
            stats = {**stats, "reason": reason}
        with self.engine.begin() as conn:
            conn.execute(
                update(RunRow)
                .where(RunRow.id == run_id)
                .values(finished_at=time.time(), status=status, stats=json.dumps(stats))
            )

    def last_run(self, status: str | None = None) -> dict | None:
        """The latest run, or the latest with this status ("completed")."""
        query = select(RunRow).order_by(RunRow.id.desc()).limit(1)
        if status is not None:
            query = query.where(RunRow.status == status)
        with self.engine.connect() as conn:
            row = conn.execute(query).one_or_none()
        if row is None:
            return None
        stats = json.loads(row.stats)
        return {
            "command": row.command,
            "started_at": row.started_at,
            "finished_at": row.finished_at,
            "status": row.status,
            "reason": stats.pop("reason", None),
            "stats": stats,
        }

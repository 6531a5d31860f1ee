"""The supervisor starts services, sees them healthy, and leaves no process behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from intellishop.ports import free_port
from intellishop.services import ServiceError, Supervisor, live_group_members, services
from intellishop.settings import Settings


def group_alive(pgid: int) -> bool:
    """A live (non-zombie) process is left in the group: zombies wait only for their reaper."""
    return bool(live_group_members(pgid))


def test_collector_starts_healthy_and_stops_with_its_group(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, collector_port=free_port())
    settings.ensure_dirs()
    supervisor = Supervisor(settings, data_dir / "logs")
    supervisor.start(services(settings)["collector"], timeout=60)
    pid = supervisor.running["collector"][1].pid
    assert group_alive(pid)
    with pytest.raises(ServiceError, match="is taken"):
        Supervisor(settings, data_dir / "logs").start(services(settings)["collector"])
    supervisor.stop_all()
    assert not group_alive(pid)
    assert supervisor.killed == []


@pytest.mark.e2e
def test_dagster_dev_stops_cleanly_with_everything_it_started(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, dagster_port=free_port())
    settings.ensure_dirs()
    supervisor = Supervisor(settings, data_dir / "logs")
    supervisor.start(services(settings)["dagster"], timeout=180)
    pid = supervisor.running["dagster"][1].pid
    supervisor.stop_all(timeout=30)
    assert not group_alive(pid)
    assert supervisor.killed == []
    log = (data_dir / "logs" / "dagster.log").read_text()
    assert "Traceback" not in log, log[-2000:]

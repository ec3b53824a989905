"""haul.client's public surface is exactly its curated ``__all__`` (as httpx checks its own)."""

from __future__ import annotations

import haul.client


def test_all_is_the_public_surface() -> None:
    public = {name for name in vars(haul.client) if not name.startswith("_")}
    exported = haul.client.__all__
    assert len(exported) == len(set(exported)), "a name is listed twice in __all__"
    assert sorted(exported) == sorted(public)


def test_every_exported_name_resolves() -> None:
    for name in haul.client.__all__:
        assert getattr(haul.client, name) is not None, name


def test_the_seed_names_stay_exported() -> None:
    # Code written against FTS3's easy bindings, PanDA's task control and
    # seed 004's job API imports these by name.
    fts3 = {"Context", "submit", "new_job", "get_job_status", "get_jobs_statuses", "cancel",
            "ban_se", "ban_dn", "unban_se", "unban_dn", "delegate"}
    panda = {"kill_task", "finish_task", "pause_task", "resume_task", "retry_task",
             "reactivate_task", "get_task_status", "get_task_params", "kill_jobs",
             "send_file_recovery_request", "get_user_job_metadata", "submit_job"}
    seed004 = {"create_job", "find_job", "get_jobs", "set_job", "update_job_result", "seed004"}
    assert fts3 | panda | seed004 <= set(haul.client.__all__)

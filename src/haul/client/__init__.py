"""haul's Python client, in the style of seed 003's easy bindings.

    import haul.client as haul

    ctx = haul.Context("http://127.0.0.1:8000", token="...")
    job = haul.copy(ctx, src_site, "/data/run1", dst_site, "/archive/run1")
    final = haul.wait(ctx, job["id"], progress=True)

Every function takes a `Context` first and makes one API call (``wait`` and
``get_job_ids`` poll or page); every failure is a `ClientException`. See
``docs/client.md`` for an example per function.
"""

# generic_jobs: the generic job API's names (seed 004's), its state-checking get_job
# included (the top-level get_job stays seed 000's); seed004 is its old name.
from haul.client import generic_jobs, seed004
from haul.client._admin import ban_dn, ban_se, list_banned_dn, list_banned_se, unban_dn, unban_se
from haul.client._context import Context
from haul.client._control import (
    cancel,
    delete_job,
    finish_task,
    kill_jobs,
    kill_task,
    pause_task,
    reactivate_task,
    resume_task,
    retry_task,
    send_command_to_job,
    send_file_recovery_request,
)
from haul.client._exceptions import (
    BadEndpoint,
    ClientError,
    ClientException,
    FailedDependency,
    NeedDelegation,
    NotFound,
    ServerError,
    TryAgain,
    Unauthorized,
)
from haul.client._generic_jobs import (
    create_job,
    find_job,
    get_finished_jobs,
    get_job_results,
    get_job_schema,
    get_jobs,
    get_pending_jobs,
    get_running_jobs,
    set_job,
    set_job_finished,
    set_job_pending,
    set_job_running,
    update_job_result,
)
from haul.client._jobs import (
    get_element,
    get_element_output,
    get_job,
    get_job_elements,
    get_job_errors,
    get_job_ids,
    get_job_output,
    get_job_status,
    get_jobs_statuses,
    get_task_params,
    get_task_status,
    get_user_job_metadata,
    hello,
    list_jobs,
    login,
    new_copy,
    new_copy_files,
    new_job,
    new_remove_files,
    submit,
    submit_job,
    whoami,
)
from haul.client._operations import copy, into_directory, list, mkdir, remove, rename
from haul.client._sites import (
    add_site,
    delegate,
    get_delegation,
    get_site,
    list_sites,
    put_file,
    remove_site,
    undelegate,
)
from haul.client._types import Element, EndpointInfo, Job, Output, Site, Upload, WhoAmI
from haul.client._wait import TERMINAL, wait

# The public surface, by what it is for (docs/client.md follows the same
# order); tests/unit/test_exported_members.py keeps it equal to the module's
# public names, so nothing is exported by accident or missing from this list.
__all__ = [
    # The connection, its errors, and the shapes of its answers
    "Context",
    "ClientException",
    "BadEndpoint",
    "ClientError",
    "FailedDependency",
    "NeedDelegation",
    "NotFound",
    "ServerError",
    "TryAgain",
    "Unauthorized",
    "Element",
    "EndpointInfo",
    "Job",
    "Output",
    "Site",
    "Upload",
    "WhoAmI",
    "TERMINAL",
    # The account
    "hello",
    "login",
    "whoami",
    # Sites, credentials (FTS3's delegation) and uploads
    "add_site",
    "delegate",
    "get_delegation",
    "get_site",
    "list_sites",
    "put_file",
    "remove_site",
    "undelegate",
    # Submitting work: seed 000's shorthands, FTS3's new_job/submit, PanDA's submit_job
    "copy",
    "list",
    "mkdir",
    "remove",
    "rename",
    "new_copy",
    "new_copy_files",
    "new_job",
    "new_remove_files",
    "submit",
    "submit_job",
    # Reading jobs: FTS3's status calls, PanDA's task getters, and wait
    "get_element",
    "get_element_output",
    "get_job",
    "get_job_elements",
    "get_job_ids",
    "get_job_errors",
    "into_directory",
    "get_job_output",
    "get_job_status",
    "get_jobs_statuses",
    "get_task_params",
    "get_task_status",
    "get_user_job_metadata",
    "list_jobs",
    "wait",
    # Steering jobs: PanDA's task control (and FTS3's cancel)
    "cancel",
    "delete_job",
    "finish_task",
    "kill_jobs",
    "kill_task",
    "pause_task",
    "reactivate_task",
    "resume_task",
    "retry_task",
    "send_command_to_job",
    "send_file_recovery_request",
    # Bans, for admins (FTS3's ban_se / ban_dn)
    "ban_dn",
    "ban_se",
    "list_banned_dn",
    "list_banned_se",
    "unban_dn",
    "unban_se",
    # The generic job API, seed 004's (its state-checking get_job is generic_jobs.get_job)
    "create_job",
    "find_job",
    "get_finished_jobs",
    "get_job_results",
    "get_job_schema",
    "get_jobs",
    "get_pending_jobs",
    "get_running_jobs",
    "set_job",
    "set_job_finished",
    "set_job_pending",
    "set_job_running",
    "update_job_result",
    "generic_jobs",
    "seed004",  # the old name of generic_jobs
]

"""Storage access for workers: one synchronous interface, one backend per scheme.

    open_storage(url, credential, access) -> Storage
        file://   local disks                 (os)
        sftp://   SSH file transfer           (asyncssh)
        https://, davs://  WebDAV             (webdav4 over httpx)
        root://   XRootD                      (XRootD Python bindings)
        s3://     S3 and compatibles          (boto3)
        dummy://  simulated, for tests and benchmarks

    copy_file(src, src_path, dst, dst_path, ...) -> CopyResult
        streams, checksums, writes to a temporary, verifies, renames.

Every failure surfaces as `haul.domain.errors.TransferError`.
"""

from haul.domain.errors import ErrorCode, ErrorScope, TransferError
from haul.storage._base import Entry, Storage
from haul.storage.checksums import ALGORITHMS
from haul.storage.copy import CopyResult, copy_file
from haul.storage.progress import Progress
from haul.storage.schemes import SCHEMES, open_storage
from haul.storage.site_access import SiteAccess

__all__ = [
    "ALGORITHMS",
    "SCHEMES",
    "SiteAccess",
    "CopyResult",
    "Entry",
    "ErrorCode",
    "ErrorScope",
    "Progress",
    "Storage",
    "TransferError",
    "copy_file",
    "open_storage",
]

"""How the knowledge folder is watched: kernel notifications, or polling where they can't see.

inotify only reports changes made through this machine's kernel: on a network filesystem
(NFS, SMB, CephFS, a FUSE mount...) an edit made on another host never arrives, so the folder
must be polled. ``FAQBOT_WATCH_POLLING`` forces either way; unset, faqbot polls when the
folder is on a network filesystem (per ``/proc/mounts``) or when no inotify instance can be
made (a container without it, the instance limit reached).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

#: Filesystem types (``/proc/mounts``' third field) on which inotify misses remote edits.
NETWORK_FILESYSTEMS = frozenset({
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "afs", "ceph", "glusterfs", "lustre",
    "gpfs", "beegfs", "ocfs2", "gfs2", "davfs", "virtiofs", "vboxsf", "fuse.sshfs",
    "fuse.glusterfs", "fuse.s3fs", "fuse.rclone", "fuse.gcsfuse", "fuse.mountpoint-s3",
    "fuse.juicefs", "fuse.cephfs", "fuse.goofys",
})
#: How often a polling watch looks at the folder.
POLL_DELAY_MS = 1000


@dataclass(frozen=True)
class WatchMode:
    """Poll or not, and why (for the start-up log line)."""

    polling: bool
    reason: str


def filesystem_type(path: Path, mounts: str = "/proc/mounts") -> str | None:
    """The type of the filesystem holding ``path`` (the longest mount point above it)."""
    try:
        table = Path(mounts).read_text("utf-8", "replace")
    except OSError:
        return None
    target = os.path.realpath(path)
    best, kind = "", None
    for line in table.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind


def inotify_available() -> bool:
    """Whether this process can make an inotify instance (True off Linux: not our concern)."""
    if not sys.platform.startswith("linux"):
        return True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        fd = int(libc.inotify_init1(os.O_CLOEXEC))
    except (OSError, AttributeError):
        return False
    if fd < 0:
        return False
    os.close(fd)
    return True


def watch_mode(folder: Path, setting: bool | None, mounts: str = "/proc/mounts") -> WatchMode:
    """Poll when ``setting`` says so; unset, when notifications can't see every edit."""
    if setting is not None:
        return WatchMode(setting, "FAQBOT_WATCH_POLLING")
    kind = filesystem_type(folder, mounts)
    if kind in NETWORK_FILESYSTEMS:
        return WatchMode(True, f"network filesystem {kind}")
    if not inotify_available():
        return WatchMode(True, "no inotify instance available")
    return WatchMode(False, f"filesystem {kind or 'unknown'}")

"""How the knowledge folder is watched: polling on network filesystems or when asked."""

from __future__ import annotations

from pathlib import Path

from faqbot.watching import filesystem_type, inotify_available, watch_mode

MOUNTS = """\
/dev/sda1 / ext4 rw,relatime 0 0
server:/export /mnt/share nfs4 rw,vers=4.2 0 0
//filer/docs /mnt/share\\040docs cifs rw 0 0
tmpfs /mnt/sharex tmpfs rw 0 0
"""


def test_the_filesystem_is_the_longest_mount_above_the_folder(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(MOUNTS)
    assert filesystem_type(Path("/mnt/share/knowledge"), str(mounts)) == "nfs4"
    assert filesystem_type(Path("/mnt/share"), str(mounts)) == "nfs4"
    assert filesystem_type(Path("/mnt/share docs/kb"), str(mounts)) == "cifs"
    assert filesystem_type(Path("/mnt/sharex/kb"), str(mounts)) == "tmpfs"
    assert filesystem_type(Path("/srv/kb"), str(mounts)) == "ext4"
    assert filesystem_type(Path("/srv"), str(tmp_path / "missing")) is None


def test_network_filesystems_are_polled_unless_the_setting_says_otherwise(
        tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(MOUNTS)
    nfs, local = Path("/mnt/share/knowledge"), Path("/srv/kb")
    assert watch_mode(nfs, None, str(mounts)).polling
    assert "nfs4" in watch_mode(nfs, None, str(mounts)).reason
    assert watch_mode(local, None, str(mounts)).polling is not inotify_available()
    assert watch_mode(local, True, str(mounts)).polling
    assert not watch_mode(nfs, False, str(mounts)).polling  # the operator knows best


def test_this_machine_has_inotify() -> None:
    assert inotify_available()  # Linux with inotify: the check itself works here

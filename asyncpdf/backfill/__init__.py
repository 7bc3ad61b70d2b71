"""`asyncpdf import DIR`: backfill the job history from a folder of old plate files.

Every plain `*.pdf` under DIR goes through the service's own pipeline in import mode (analysed,
previewed and recorded; nothing uploaded, only admins notified; dated by the file's mtime),
without the web server and without watching the hotfolder. The user's files are never moved
or changed: each is copied into a staging folder inside the spool (same file system) and the
copy is claimed from there by rename, as the watcher claims a file from the hotfolder.

A file whose checksum an earlier job already has (imported or delivered) is skipped, so the
command can be run again after an interruption and continues where it stopped.
"""

from asyncpdf.backfill.run import import_folder

__all__ = ["import_folder"]

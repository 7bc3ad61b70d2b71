"""The schema, as ordered migrations; `PRAGMA user_version` counts those applied."""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        state TEXT NOT NULL,
        sha256 TEXT,
        size INTEGER,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        finished_at REAL,
        analysis TEXT,
        error TEXT
    );
    CREATE INDEX jobs_state ON jobs(state);
    CREATE INDEX jobs_created ON jobs(created_at);
    CREATE TABLE deliveries (
        job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        bytes INTEGER,
        seconds REAL,
        remote_name TEXT,
        PRIMARY KEY (job_id, kind)
    );
    CREATE TABLE job_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        ts REAL NOT NULL,
        level TEXT NOT NULL,
        message TEXT NOT NULL
    );
    CREATE INDEX job_log_job ON job_log(job_id, id);
    """,
    # Typed analysis with its schema version; artefacts in their own column; deliveries that
    # wait in the database for their next attempt.
    """
    ALTER TABLE jobs ADD COLUMN analysis_version INTEGER;
    ALTER TABLE jobs ADD COLUMN artefacts TEXT;
    UPDATE jobs SET analysis_version = 1 WHERE analysis IS NOT NULL;
    UPDATE jobs SET artefacts = json_extract(analysis, '$.artefacts'),
        analysis = json_remove(analysis, '$.artefacts')
        WHERE json_type(analysis, '$.artefacts') = 'object';
    ALTER TABLE deliveries RENAME COLUMN status TO state;
    ALTER TABLE deliveries ADD COLUMN next_attempt_at REAL;
    UPDATE deliveries SET state = 'sent' WHERE state = 'done';
    UPDATE deliveries SET state = 'pending', next_attempt_at = 0
        WHERE state IN ('sending', 'failed')
        AND job_id IN (SELECT id FROM jobs WHERE state IN ('received', 'queued', 'analysing',
                                                          'delivering'));
    CREATE INDEX deliveries_due ON deliveries(state, next_attempt_at);
    """,
    # The file's own name as bytes, where it is not the job's (not UTF-8).
    """
    ALTER TABLE jobs ADD COLUMN file_name BLOB;
    """,
    # How many warnings a job's log holds: a job done with warnings is not a clean one.
    """
    ALTER TABLE jobs ADD COLUMN warnings INTEGER NOT NULL DEFAULT 0;
    UPDATE jobs SET warnings =
        (SELECT count(*) FROM job_log WHERE job_log.job_id = jobs.id AND level = 'warning');
    """,
    # Exactly once (a file's checksum finds the job that delivered it), import mode, and the
    # notifications outbox: one row per job and recipient, written with the job's end.
    """
    ALTER TABLE jobs ADD COLUMN duplicate_of INTEGER;
    ALTER TABLE jobs ADD COLUMN imported INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX jobs_sha256 ON jobs(sha256);
    CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL REFERENCES jobs(id),
        channel TEXT NOT NULL,
        address TEXT NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL,
        error TEXT,
        created_at REAL NOT NULL,
        sent_at REAL,
        UNIQUE (job_id, channel, address)
    );
    CREATE INDEX outbox_due ON outbox(state, next_attempt_at);
    CREATE TABLE switches (name TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # What the history grid filters and totals by, kept beside the analysis (filled from it by
    # the store at start-up for jobs analysed before); reruns, API callbacks, deleted records
    # (kept as a checksum, so a deleted job's file is still not delivered twice); and the
    # numbered events the live page resumes from.
    """
    ALTER TABLE jobs ADD COLUMN order_number TEXT;
    ALTER TABLE jobs ADD COLUMN bureau TEXT;
    ALTER TABLE jobs ADD COLUMN presses TEXT;
    ALTER TABLE jobs ADD COLUMN complects INTEGER;
    ALTER TABLE jobs ADD COLUMN plates INTEGER;
    ALTER TABLE jobs ADD COLUMN inks TEXT;
    ALTER TABLE jobs ADD COLUMN rerun_of INTEGER;
    ALTER TABLE jobs ADD COLUMN callback_url TEXT;
    ALTER TABLE jobs ADD COLUMN deleted_at REAL;
    CREATE INDEX jobs_bureau ON jobs(bureau);
    CREATE TABLE job_plates (
        job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        press TEXT NOT NULL,
        plates INTEGER NOT NULL,
        PRIMARY KEY (job_id, press)
    );
    CREATE INDEX job_plates_press ON job_plates(press);
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        ts REAL NOT NULL,
        data TEXT NOT NULL
    );
    """,
    # The sub-folder of the hotfolder a file was taken from; when retention removed the
    # original of a delivered job from done/.
    """
    ALTER TABLE jobs ADD COLUMN subfolder TEXT;
    ALTER TABLE jobs ADD COLUMN original_removed_at REAL;
    """,
    # Which file a finished job's original was kept as (path, device, inode, size, change
    # time): retention removes a file only if it is still that one.
    """
    ALTER TABLE jobs ADD COLUMN kept_path TEXT;
    ALTER TABLE jobs ADD COLUMN kept_device INTEGER;
    ALTER TABLE jobs ADD COLUMN kept_inode INTEGER;
    ALTER TABLE jobs ADD COLUMN kept_size INTEGER;
    ALTER TABLE jobs ADD COLUMN kept_ctime_ns INTEGER;
    CREATE INDEX jobs_kept_inode ON jobs(kept_inode);
    """,
    # Each job's ink use per press and ink (m² of solid ink: plates × sheet area × coverage),
    # written with its previews, for the monthly report.
    """
    CREATE TABLE job_inks (
        job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
        press TEXT NOT NULL,
        ink TEXT NOT NULL,
        area_m2 REAL NOT NULL,
        PRIMARY KEY (job_id, press, ink)
    );
    """,
)

"""The life of a job: watcher → spool → runner (steps in the pool) → delivery scheduler, with
the lifecycle of job and delivery states in one module."""

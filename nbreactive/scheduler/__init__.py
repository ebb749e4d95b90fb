"""Layer 10: the scheduler — scheduled jobs and crons, run by a clock tests can control.

- ``schedules``: cron and interval arithmetic (next run, missed runs), no clock
- ``jobs``: running the jobs of ``_scheduled_functions`` exactly as promised
- ``crons``: ``app.crons`` and the runs of ``_cron_jobs``
- ``runner``: the background thread, and ``app.run_due_jobs()``

Scheduling itself (``ctx.scheduler``) is in ``nbreactive.functions.scheduling``.
"""

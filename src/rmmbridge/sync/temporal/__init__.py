"""The ``temporal`` orchestrator: sync runs as Temporal workflows, schedules as a Temporal Schedule.

Web processes only start workflows (``runner.TemporalRunner``); ``rmmbridge worker`` processes
execute them (``worker.py``). The payload is ``{kind, run_id, tenant_id}`` — ids only; the run row
in the database is the truth, exactly as with the in-process runner — so the same ``execute_run``
does the work whichever orchestrator delivered the id.
"""

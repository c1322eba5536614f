"""Reports: the historical figures of a tenant's contact center, from its durable logs.

Pure (no I/O; the ``pure`` import contract): :mod:`.periods` (a local date range cut into
hours, days, weeks or months), :mod:`.filters`, :mod:`.exceptions`, :mod:`.tables` (columns and rows, printed
alike by the page, the API, CSV and XLSX), and the builders :mod:`.agent_time`,
:mod:`.calls` and :mod:`.outcomes`, which reuse the wallboard's functions
(:mod:`controlplane.acd.wallboard_figures`, :mod:`controlplane.acd.stats`) so a closed
interval's report equals the live board. :mod:`.exports` writes a table as CSV or XLSX.
I/O: :mod:`.store` (the SQL), :mod:`.service` (one report end to end), :mod:`.http`
(``/reports`` and ``/api/v1/reports``), and the job :mod:`controlplane.jobs.report_export`
for the long ones. Formulas: ``docs/reports.md``.
"""

"""The SLA domain: service calendars, availability, incidents' clocks, credits and penalties.

``calendar`` and ``terms`` are pure (the contract as functions); ``store`` reads a period's
intervals from the database; ``cli`` prints a tenant's statement (``centrala sla report``).
"""

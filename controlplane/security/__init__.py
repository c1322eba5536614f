"""Security: the audit trail (``audit``), and the guards built on it."""

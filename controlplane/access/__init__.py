"""Access administration: the tenant's IP allow-list and one-workstation rule, the audit
log, and each user's second factor (issue 12 items 4–7). The rules and their SQL live in
:mod:`controlplane.security` (login uses them); this domain is their panel and API room."""

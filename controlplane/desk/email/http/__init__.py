"""The e-mail channel's panel pages and API: mailboxes (admins) and the public survey page."""

from controlplane.desk.email.http import mailboxes, survey

BLUEPRINTS = (mailboxes.bp, survey.bp)

"""The desk: tickets, and the channels that thread into them (e-mail, SMS; chat's
transcripts come from :mod:`controlplane.chat`).

Every channel hands what a customer sent to :func:`controlplane.desk.threads.receive`,
and an agent's reply to :func:`controlplane.desk.threads.reply`: one seam, so a ticket
reads the same whatever the customer used.

The rooms (DESIGN.md):

* :mod:`.threads` -- the seam (receive, reply); :mod:`.service` -- what follows every
  change in its transaction: the ticket's history (``ticket_event``), webhook events,
  business rules; merge, time tracking, "next ticket";
* :mod:`.store` -- the SQL of lists and pages, and who sees which ticket;
  :mod:`.catalog` -- categories, response templates, saved views;
  :mod:`.rulebook` -- stored business rules;
* :mod:`.rules` (pure) and :mod:`.automation` -- business rules decided and applied;
  :mod:`.templates` -- response templates rendered in Jinja's sandbox;
* :mod:`.delivery` -- replies out through the ticket's channel (an RQ job,
  :mod:`controlplane.jobs.desk_delivery`); :mod:`.presence` -- who else is on a ticket;
* :mod:`.schemas`, :mod:`.exceptions`, :mod:`.http` -- the panel and ``/api/v1``.
"""

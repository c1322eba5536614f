"""The SMS channel of the desk: customers' SMS become tickets, agents answer by SMS.

* :mod:`.providers` -- the provider interface and the generic HTTP provider (wire format in
  ``docs/sms.md``): send, verify and parse an inbound post.
* :mod:`.service` -- the rules: account settings (sender ID, numbers, queue, auto-reply),
  templates, an inbound SMS into a ticket, delivery reports.
* :mod:`.outgoing` -- what leaves: :func:`~.outgoing.deliver` (an agent's reply, called by
  the ticket reply job) and the auto-reply (job :mod:`controlplane.jobs.sms`).
* :mod:`.store` -- its SQL; :mod:`.secrets` -- the API key and inbound secret encrypted at
  rest; :mod:`.exceptions`; :mod:`.schemas` -- the API's request bodies.
* :mod:`.segments`, :mod:`.texts` -- pure: GSM-7/UCS-2 segment counts, ``{{ parameters }}``.
* :mod:`.http` -- the admin page ``/admin/sms``, ``/api/v1/sms/...`` and the gateway's
  webhook ``/sms/inbound/<public id>``.
"""

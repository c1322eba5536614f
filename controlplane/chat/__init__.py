"""Chat: a website visitor's conversation, queued and routed by the ACD like a call.

Two sides share this room (the chat contract, issue 14):

The daemon's routing:

* :mod:`.service` -- the ACD's chat connector (its typed orders become row writes, system
  lines and ``chat.*`` events) and the handlers of the ``chat.*`` commands;
* :mod:`.router_store` -- its SQL.

What people see, in the panel:

* :mod:`.widget_settings` -- a tenant's widgets (public key, identity secret, queue,
  allowed websites, looks, greetings, pre-chat fields, opening hours, survey) and what a
  visitor's widget loads;
* :mod:`.hours` -- opening hours decided like the IVR's time conditions (pure);
* :mod:`.canned` -- canned responses with ``{{ parameters }}``;
* :mod:`.store` -- chats and their numbered messages (the panel's writes);
* :mod:`.transport` -- the per-chat Redis stream and the SSE feed that resumes without
  loss or doubles;
* :mod:`.transcript` -- every message into the chat's ticket (``desk.threads``);
* :mod:`.schemas`, :mod:`.exceptions`;
* :mod:`.http` -- the widget script and the visitor API (``/chat/...``), the admin pages and
  ``/api/v1/chat/...``, the agent console and the supervisors' watch.

The tables are :mod:`controlplane.models.chat`.
"""

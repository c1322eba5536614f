"""Chat: a website visitor's conversation with an agent, queued and routed by the ACD like a
call (issue 14). The daemon's side is :mod:`controlplane.chat.service` (the ACD's chat
connector and the handlers of the ``chat.*`` commands) with its SQL in
:mod:`controlplane.chat.router_store`; the tables are :mod:`controlplane.models.chat`.
"""

"""Supervision: a supervisor listens to, whispers to or barges into an agent's call.

``plan`` (pure): the Asterisk objects of a session and the commands of each step;
``service`` (daemon): sessions in progress, their own Stasis app and teardown; ``orphans``:
what a dead daemon left behind; ``store``: the database side; ``http``: the panel and API.
"""

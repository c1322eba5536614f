"""The desk: tickets, and the channels that thread into them (e-mail, SMS; chat's
transcripts come from :mod:`controlplane.chat`).

Every channel hands what a customer sent to :func:`controlplane.desk.threads.receive`,
and an agent's reply to :func:`controlplane.desk.threads.reply`: one seam, so a ticket
reads the same whatever the customer used.
"""

"""How many interactions of each channel an agent holds at once (issue 14, the one router).

* ``acd_channel_settings``: one row per tenant (none: the defaults). ``chats_per_agent``
  (default 6) is how many chats an agent holds at once; ``voice_with_chats`` lets a call
  reach an agent who holds chats (default off: an agent in chats gets no call; a call, once
  taken, still blocks new chats); ``chat_offer_timeout_s`` how long a chat offer waits for
  the agent's accept before it goes to the next agent; ``emails_per_agent`` (default 3)
  how many tickets (e-mails, SMS) an agent holds at once, ``email_offer_timeout_s``
  (default 60) how long a ticket's offer waits.
* ``acd_agent_capacity``: an agent's own chat and e-mail limits, over the tenant's (a trainee
  holds 2 chats, a senior 8; null: the tenant's number).

The live ACD reads both (``acd/store.py``) at start and on ``acd.reload``.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.models.base import Base
from controlplane.models.columns import tenant_fk

MAX_CHATS = 20
DEFAULT_CHATS = 6
DEFAULT_CHAT_OFFER_TIMEOUT_S = 20
MAX_CHAT_OFFER_TIMEOUT_S = 300
MAX_EMAILS = 20
DEFAULT_EMAILS = 3
DEFAULT_EMAIL_OFFER_TIMEOUT_S = 60
MAX_EMAIL_OFFER_TIMEOUT_S = 3600


class AcdChannelSettings(Base):
    __tablename__ = "acd_channel_settings"
    __table_args__ = (
        CheckConstraint(f"chats_per_agent BETWEEN 0 AND {MAX_CHATS}", name="chats_per_agent"),
        CheckConstraint(f"chat_offer_timeout_s BETWEEN 5 AND {MAX_CHAT_OFFER_TIMEOUT_S}",
                        name="chat_offer_timeout_s"),
        CheckConstraint(f"emails_per_agent BETWEEN 0 AND {MAX_EMAILS}", name="emails_per_agent"),
        CheckConstraint(f"email_offer_timeout_s BETWEEN 5 AND {MAX_EMAIL_OFFER_TIMEOUT_S}",
                        name="email_offer_timeout_s"),
    )

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"),
                                           primary_key=True)
    chats_per_agent: Mapped[int] = mapped_column(Integer, default=DEFAULT_CHATS)
    voice_with_chats: Mapped[bool] = mapped_column(default=False)
    chat_offer_timeout_s: Mapped[int] = mapped_column(Integer,
                                                      default=DEFAULT_CHAT_OFFER_TIMEOUT_S)
    emails_per_agent: Mapped[int] = mapped_column(Integer, default=DEFAULT_EMAILS)
    email_offer_timeout_s: Mapped[int] = mapped_column(Integer,
                                                       default=DEFAULT_EMAIL_OFFER_TIMEOUT_S)


class AgentChatCapacity(Base):
    __tablename__ = "acd_agent_capacity"
    __table_args__ = (
        CheckConstraint(f"chats BETWEEN 0 AND {MAX_CHATS}", name="chats"),
        CheckConstraint(f"emails BETWEEN 0 AND {MAX_EMAILS}", name="emails"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"),
                                         primary_key=True)
    tenant_id: Mapped[int] = tenant_fk()
    chats: Mapped[int | None] = mapped_column(Integer)
    emails: Mapped[int | None] = mapped_column(Integer)

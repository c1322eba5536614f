"""SQLAlchemy 2 models shared by every process (control plane, panel, workers)."""

from controlplane.models.access import TenantAccess, UserTotp  # noqa: F401
from controlplane.models.acd import Queue, QueueLog  # noqa: F401
from controlplane.models.acd_channels import AcdChannelSettings, AgentChatCapacity  # noqa: F401
from controlplane.models.api_tokens import ApiToken  # noqa: F401
from controlplane.models.base import Base
from controlplane.models.call_quality import CallQuality  # noqa: F401
from controlplane.models.callbacks import CallbackRequest  # noqa: F401
from controlplane.models.calls import CallRecord
from controlplane.models.campaigns import (  # noqa: F401
    Campaign,
    CampaignRecord,
    DialAttempt,
    Disposition,
    Recontact,
)
from controlplane.models.chat import Chat, ChatMessage  # noqa: F401
from controlplane.models.chat_widgets import CannedResponse, ChatWidget  # noqa: F401
from controlplane.models.contact_merges import ContactMerge  # noqa: F401
from controlplane.models.contacts import Contact, ContactPhone, HlrResult  # noqa: F401
from controlplane.models.desk import (  # noqa: F401
    TicketEvent,
    TicketRule,
    TicketRuleFired,
    TicketRuleUsage,
    TicketTemplate,
    TicketTime,
    TicketView,
)
from controlplane.models.desk_mail import DeskMailbox, DeskSurvey  # noqa: F401
from controlplane.models.desktop import CallDisposition, CallWrapup, DesktopSettings  # noqa: F401
from controlplane.models.dial_lists import (  # noqa: F401
    BlacklistEntry,
    CallerIdNumber,
    CallerIdUsage,
)
from controlplane.models.imports import (  # noqa: F401
    ContactImport,
    ContactImportFile,
    ContactImportRejection,
)
from controlplane.models.ivr import (  # noqa: F401
    AudioUpload,
    HolidayCalendarDay,
    IvrFlow,
    IvrFlowVersion,
    TtsUsage,
)
from controlplane.models.outbound import OutboundPolicy  # noqa: F401
from controlplane.models.outbound_routes import OutboundRoute, OutboundRouteTrunk  # noqa: F401
from controlplane.models.outbox import JobOutbox  # noqa: F401
from controlplane.models.panel_sessions import PanelSession  # noqa: F401
from controlplane.models.recording_sftp import RecordingSftp, RecordingUpload  # noqa: F401
from controlplane.models.recording_tags import (  # noqa: F401
    RecordingExport,
    RecordingPolicy,
    RecordingTag,
    RecordingTagLink,
)
from controlplane.models.recordings import CallRecording
from controlplane.models.reports import ReportExport  # noqa: F401
from controlplane.models.security import SecurityEvent  # noqa: F401
from controlplane.models.sip_bans import SipBan  # noqa: F401
from controlplane.models.sla import (  # noqa: F401
    SlaClaim,
    SlaDowntime,
    SlaIncident,
    SlaIncidentEvent,
    SlaMaintenance,
    SlaProbeResult,
    SlaSettings,
)
from controlplane.models.sla_probes import SlaProbeRun  # noqa: F401
from controlplane.models.sms import DeskSmsAccount, DeskSmsAutoReply, DeskSmsTemplate  # noqa: F401
from controlplane.models.supervision import SupervisionSession  # noqa: F401
from controlplane.models.telephony import Did, PhoneEndpoint, Trunk
from controlplane.models.tenancy import Role, Tenant, User
from controlplane.models.ticket_routes import TicketRoute  # noqa: F401
from controlplane.models.tickets import Ticket, TicketCategory, TicketMessage  # noqa: F401
from controlplane.models.user_tokens import UserToken  # noqa: F401
from controlplane.models.wallboard import WallboardAlertRule  # noqa: F401
from controlplane.models.webhooks import (  # noqa: F401
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)

__all__ = ["Base", "CallRecord", "CallRecording", "Did", "PhoneEndpoint", "Role", "Tenant", "Trunk", "User"]

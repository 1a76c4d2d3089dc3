"""Chat services, one class each, registered by name (a channel's `type`). Importing this package fills
the registry: the service modules are listed here, explicitly. Email is not a chat service: its channels
go to the SMTP sender (notifiers/send.py)."""

from notifiers.services import dingtalk as _dingtalk  # noqa: F401  (registers dingtalk)
from notifiers.services import feishu as _feishu  # noqa: F401  (registers feishu)
from notifiers.services import generic as _generic  # noqa: F401  (registers webhook)
from notifiers.services import slack as _slack  # noqa: F401  (registers slack)
from notifiers.services import wecom as _wecom  # noqa: F401  (registers wecom)
from notifiers.services.base import ChatService, Refused, Signed, encode, known_services, register, service_for

__all__ = ["ChatService", "Refused", "Signed", "encode", "known_services", "register", "service_for"]

"""Where RELAY calls meet SIP: two extension headers and the end reasons of SIP statuses.

* ``X-Relay-Context: <context>`` on an INVITE asks a voxrelay server for that RELAY context;
  the INVITE must then be digest-authenticated as the project (username = project id,
  password = its token; RFC 3261 §22).
* ``X-Relay-Call-Id: <call_id>`` names the RELAY call: on every response of the server to an
  INVITE that made one, and on the server's INVITEs for ``calling.dial`` (the outbound leg).

``REJECT`` is the final status a UAS sends when a call ends unanswered for a reason;
``FAILURE`` the reason a UAC reports for a final failure status (others: ``error``).
"""

from __future__ import annotations

from voxrelay.protocol.states import EndReason

CONTEXT_HEADER = "X-Relay-Context"
CALL_ID_HEADER = "X-Relay-Call-Id"

REJECT: dict[EndReason, int] = {
    EndReason.BUSY: 486,
    EndReason.DECLINE: 603,
    EndReason.CANCEL: 487,
    EndReason.NO_ANSWER: 480,
    EndReason.NOT_FOUND: 404,
}
FAILURE: dict[int, EndReason] = {
    486: EndReason.BUSY,
    600: EndReason.BUSY,
    603: EndReason.DECLINE,
    480: EndReason.NO_ANSWER,
    408: EndReason.NO_ANSWER,
    487: EndReason.CANCEL,
    404: EndReason.NOT_FOUND,
    604: EndReason.NOT_FOUND,
}

"""SIP (RFC 3261) for voxrelay, layered as pjsip is: calls from and to phones, softphones, trunks.

* the core, sans-I/O: ``message`` (parse/serialize), ``transaction`` (RFC 3261 §17, RFC 6026),
  ``dialog`` (§12), ``digest`` (§22); ``framing`` and ``endpoint`` put it on UDP and TCP;
* usages over it: ``invite`` (the INVITE session: calls, CANCEL, re-INVITE for hold),
  ``registration`` (a client's REGISTER) and ``registrar`` (the server side);
* ``useragent`` routes the endpoint's transactions to the usages;
* SDP syntax (``sdp``, RFC 4566) beside its offer/answer negotiator (``offeranswer``, RFC 3264).
"""

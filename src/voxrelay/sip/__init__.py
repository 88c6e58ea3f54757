"""SIP (RFC 3261) for voxrelay: sans-I/O messages, SDP, transactions and dialogs, under thin
asyncio transports. Calls from and to phones, softphones and trunks."""

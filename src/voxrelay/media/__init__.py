"""The media engine: RTP, codecs, jitter buffer, media clock, legs and their components.

It knows nothing of RELAY: the server composes it with calls.
"""

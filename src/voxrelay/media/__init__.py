"""The media engine: RTP, codecs, jitter buffer, media clock and the per-leg components. Knows nothing of RELAY."""

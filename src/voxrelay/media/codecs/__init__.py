"""Audio codecs at the edge of the media engine (internal audio: 8 kHz mono int16)."""

from voxrelay.media.codecs.g711 import PCMA, PCMU, Codec, codec_by_name, codec_by_payload_type

__all__ = ["PCMA", "PCMU", "Codec", "codec_by_name", "codec_by_payload_type"]

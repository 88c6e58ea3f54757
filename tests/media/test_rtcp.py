"""RTCP statistics and reports (RFC 3550 §6, Appendix A)."""

from __future__ import annotations

from voxrelay.media.rtcp import ReceptionStats, parse_reports, receiver_report, sender_report


def test_loss_and_jitter_follow_rfc3550() -> None:
    stats = ReceptionStats()
    for seq in [*range(65530, 65536), *range(0, 10)]:  # wraps, and 3 packets lost
        if seq in (2, 3, 4):
            continue
        n = (seq - 65530) % 65536
        stats.update(0xABC, seq, n * 160, n * 160 + (40 if n % 2 else 0))
    assert stats.expected == 16 and stats.received == 13 and stats.lost == 3
    assert stats.extended_max == 65536 + 9
    assert 10 < stats.jitter < 40  # alternating 40-sample transit changes, smoothed by 1/16
    block = stats.block()
    assert block is not None and abs(block.fraction_lost - 3 / 16) < 1 / 256
    again = stats.block()
    assert again is not None and again.fraction_lost == 0  # nothing new since


def test_reports_round_trip() -> None:
    stats = ReceptionStats()
    for seq in range(100):
        stats.update(7, seq, seq * 160, seq * 160)
    sr = sender_report(0x1234, 5000, 100, 16000, stats.block(), now=1_700_000_000.5)
    (block,) = parse_reports(sr + receiver_report(0x1234, None))
    assert block.ssrc == 7 and block.cumulative_lost == 0 and block.highest_seq == 99
    assert parse_reports(receiver_report(1, None)) == []

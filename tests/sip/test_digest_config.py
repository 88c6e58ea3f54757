"""``[sip] digest_algorithms``: which challenges the registrar offers, in order."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from voxrelay.server.config import load_config_file
from voxrelay.sip.registrar import Registrar


def sip_config(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "voxrelay.toml"
    path.write_text(body)
    return load_config_file(path)[2].digest_algorithms


def test_default_is_sha256_then_md5(tmp_path: Path) -> None:
    assert sip_config(tmp_path, "") == ["SHA-256", "MD5"]
    values = Registrar("voxrelay", {}).auth.challenge_headers()
    assert ["algorithm=SHA-256" in values[0], "algorithm=MD5" in values[1]] == [True, True]


def test_md5_only_for_old_phones(tmp_path: Path) -> None:
    algorithms = sip_config(tmp_path, '[sip]\ndigest_algorithms = ["md5"]\n')
    assert algorithms == ["MD5"]
    (value,) = Registrar("voxrelay", {}, algorithms).auth.challenge_headers()
    assert "algorithm=MD5" in value


@pytest.mark.parametrize("value", ['["SHA-1"]', "[]", '"MD5"'])
def test_bad_values_are_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ValueError, match="digest_algorithms"):
        sip_config(tmp_path, f"[sip]\ndigest_algorithms = {value}\n")


def test_registrar_responses_carry_a_to_tag() -> None:
    """RFC 3261 §8.2.6.2: a UAS adds a To tag to every response but 100 (the 401 too)."""
    from voxrelay.testing import LocalServer

    with (
        LocalServer(sip_users={"alice": {"password": "pw"}}) as server,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock,
    ):
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        port = sock.getsockname()[1]
        target = f"127.0.0.1:{server.sip_port}"
        sock.sendto(
            (
                f"REGISTER sip:{target} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK-reg-1;rport\r\n"
                "Max-Forwards: 70\r\n"
                f"From: <sip:alice@{target}>;tag=from1\r\n"
                f"To: <sip:alice@{target}>\r\n"
                "Call-ID: reg-to-tag@test\r\n"
                "CSeq: 1 REGISTER\r\n"
                f"Contact: <sip:alice@127.0.0.1:{port}>\r\n"
                "Content-Length: 0\r\n\r\n"
            ).encode(),
            ("127.0.0.1", server.sip_port),
        )
        reply = sock.recv(65535).decode()
    assert reply.startswith("SIP/2.0 401")
    to = next(line for line in reply.split("\r\n") if line.lower().startswith("to:"))
    assert ";tag=" in to

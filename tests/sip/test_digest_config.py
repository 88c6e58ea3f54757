"""``[sip] digest_algorithms``: which challenges the registrar offers, in order."""

from __future__ import annotations

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

"""Digest authentication (RFC 7616, RFC 2617, RFC 3261 §22): vectors, round trips, refusals."""

from __future__ import annotations

import pytest

from voxrelay.sip.digest import (
    DigestAuth,
    DigestError,
    authorization,
    choose_challenge,
    parse_params,
    response_value,
)

NOW = 1_800_000_000.0
USERS = {"alice": "s3cret", "bob": 'we"ird\\pass'}


def lookup(username: str) -> str | None:
    return USERS.get(username)


# RFC 7616 §3.9.1
RFC7616 = {
    "username": "Mufasa",
    "realm": "http-auth@example.org",
    "password": "Circle of Life",
    "method": "GET",
    "uri": "/dir/index.html",
    "nonce": "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    "qop": "auth",
    "nc": "00000001",
    "cnonce": "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
}


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_rfc7616_vectors(algorithm: str, expected: str) -> None:
    assert response_value(algorithm, **RFC7616) == expected


def test_rfc7616_vector_through_the_client() -> None:
    challenge = (
        'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, '
        'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
        'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"'
    )
    value = authorization(
        challenge, "GET", "/dir/index.html", "Mufasa", "Circle of Life",
        cnonce=RFC7616["cnonce"],
    )  # fmt: skip
    _, params = parse_params(value)
    assert params["response"] == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    assert params["qop"] == "auth" and params["nc"] == "00000001"
    assert params["opaque"] == "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"


def test_rfc2617_vector() -> None:
    # RFC 2617 §3.5
    assert (
        response_value(
            "MD5",
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
            "GET",
            "/dir/index.html",
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            "auth",
            "00000001",
            "0a4f113b",
        )
        == "6629fae49393a05397450978507c4ef1"
    )


def test_parse_params_quoting() -> None:
    scheme, params = parse_params(
        'Digest username="a\\"b", realm="r, s",nc=00000001 , qop=auth,  uri="sip:x@y;a=b"'
    )
    assert scheme == "digest"
    assert params == {
        "username": 'a"b', "realm": "r, s", "nc": "00000001", "qop": "auth", "uri": "sip:x@y;a=b"
    }  # fmt: skip
    for bad in [
        'Digest realm="open',
        "Digest realm",
        'Digest a="1", a="2"',
        "Digest " + "x" * 5000,
    ]:
        with pytest.raises(DigestError):
            parse_params(bad)


@pytest.fixture
def auth() -> DigestAuth:
    return DigestAuth("voxrelay.test", b"server-secret")


def test_challenge_headers(auth: DigestAuth) -> None:
    sha, md5 = auth.challenge_headers(now=NOW)
    _, p1 = parse_params(sha)
    _, p2 = parse_params(md5)
    assert (p1["algorithm"], p2["algorithm"]) == ("SHA-256", "MD5")
    assert p1["nonce"] == p2["nonce"] and p1["realm"] == "voxrelay.test" and p1["qop"] == "auth"
    assert "stale" not in p1
    assert parse_params(auth.challenge_headers(stale=True, now=NOW)[0])[1]["stale"] == "true"
    assert auth.nonce(NOW) != auth.nonce(NOW)


@pytest.mark.parametrize("algorithm", ["SHA-256", "MD5"])
@pytest.mark.parametrize("username", ["alice", "bob"])
def test_round_trip(auth: DigestAuth, algorithm: str, username: str) -> None:
    challenges = auth.challenge_headers(now=NOW)
    challenge = next(c for c in challenges if f"algorithm={algorithm}," in c)
    value = authorization(challenge, "REGISTER", "sip:voxrelay.test", username, USERS[username])
    got = auth.verify(value, "REGISTER", lookup, uri="sip:voxrelay.test", now=NOW + 10)
    assert got == username


def test_client_picks_sha256(auth: DigestAuth) -> None:
    challenges = list(reversed(auth.challenge_headers(now=NOW)))
    assert "SHA-256" in choose_challenge(challenges)
    value = authorization(challenges, "INVITE", "sip:1@h", "alice", "s3cret", nc=2, cnonce="abc")
    assert "algorithm=SHA-256" in value and "nc=00000002" in value
    assert auth.verify(value, "INVITE", lookup, now=NOW) == "alice"
    with pytest.raises(DigestError):
        choose_challenge(['Basic realm="x"', 'Digest realm="x", nonce="n", algorithm=SHA-512'])


def _signed(auth: DigestAuth, password: str = "s3cret", **changes: str) -> str:
    challenge = auth.challenge_headers(now=NOW)[0]
    args = {"method": "INVITE", "uri": "sip:1@h", "username": "alice", "password": password}
    args.update(changes)
    return authorization(challenge, args["method"], args["uri"], args["username"], args["password"])


def test_wrong_password_and_unknown_user(auth: DigestAuth) -> None:
    with pytest.raises(DigestError, match="credentials") as err:
        auth.verify(_signed(auth, password="guess"), "INVITE", lookup, now=NOW)
    assert not err.value.stale and err.value.username == "alice"
    with pytest.raises(DigestError, match="credentials"):
        auth.verify(_signed(auth, username="mallory"), "INVITE", lookup, now=NOW)


def test_method_and_uri_are_bound(auth: DigestAuth) -> None:
    value = _signed(auth)
    with pytest.raises(DigestError):
        auth.verify(value, "BYE", lookup, now=NOW)
    with pytest.raises(DigestError, match="uri"):
        auth.verify(value, "INVITE", lookup, uri="sip:2@h", now=NOW)
    assert auth.verify(value, "INVITE", lookup, uri="sip:1@h", now=NOW) == "alice"


def test_expired_nonce_is_stale(auth: DigestAuth) -> None:
    value = _signed(auth)
    with pytest.raises(DigestError, match="expired") as err:
        auth.verify(value, "INVITE", lookup, now=NOW + 301)
    assert err.value.stale
    with pytest.raises(DigestError, match="future"):
        auth.verify(value, "INVITE", lookup, now=NOW - 3600)


def test_forged_or_foreign_nonce(auth: DigestAuth) -> None:
    other = DigestAuth("voxrelay.test", b"another-secret")
    value = _signed(other)
    with pytest.raises(DigestError, match="nonce") as err:
        auth.verify(value, "INVITE", lookup, now=NOW)
    assert not err.value.stale
    genuine = _signed(auth)
    _, params = parse_params(genuine)
    for nonce in ["", "!!!", "AAAA", params["nonce"][:-2] + "AA"]:
        forged = genuine.replace(params["nonce"], nonce)
        with pytest.raises(DigestError):
            auth.verify(forged, "INVITE", lookup, now=NOW)


def test_other_realm_rejected(auth: DigestAuth) -> None:
    other = DigestAuth("elsewhere", b"server-secret")
    with pytest.raises(DigestError, match="realm"):
        auth.verify(_signed(other), "INVITE", lookup, now=NOW)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda v: v.replace("Digest ", "Basic "), "scheme"),
        (lambda v: v.replace("qop=auth, ", ""), "qop"),
        (lambda v: v.replace("qop=auth", "qop=auth-int"), "qop"),
        (lambda v: v.replace("nc=00000001", "nc=1"), "nc"),
        (lambda v: v.replace("algorithm=SHA-256", "algorithm=SHA-512-256"), "algorithm"),
        (lambda v: v.replace('uri="sip:1@h", ', ""), "missing uri"),
    ],
)
def test_malformed_authorization(auth: DigestAuth, edit: object, message: str) -> None:
    assert callable(edit)
    with pytest.raises(DigestError, match=message):
        auth.verify(edit(_signed(auth)), "INVITE", lookup, now=NOW)


def test_rfc2069_style_when_qop_not_required() -> None:
    auth = DigestAuth("r", b"k", require_qop=False, algorithms=("MD5",))
    _, params = parse_params(auth.challenge_headers(now=NOW)[0])
    challenge = f'Digest realm="r", nonce="{params["nonce"]}"'  # no qop, no algorithm
    value = authorization(challenge, "INVITE", "sip:1@h", "alice", "s3cret")
    assert "qop" not in value
    assert auth.verify(value, "INVITE", lookup, now=NOW) == "alice"


def test_opaque_checked_when_set() -> None:
    auth = DigestAuth("r", b"k", opaque="xyz")
    challenge = auth.challenge_headers(now=NOW)[0]
    value = authorization(challenge, "INVITE", "sip:1@h", "alice", "s3cret")
    assert auth.verify(value, "INVITE", lookup, now=NOW) == "alice"
    with pytest.raises(DigestError, match="opaque"):
        auth.verify(value.replace('opaque="xyz"', 'opaque="abc"'), "INVITE", lookup, now=NOW)


def test_sess_and_auth_int_on_the_client() -> None:
    challenge = 'Digest realm="r", nonce="n", algorithm=MD5-sess, qop="auth-int"'
    value = authorization(challenge, "INVITE", "sip:1@h", "u", "p", cnonce="c", body=b"v=0")
    _, params = parse_params(value)
    assert params["qop"] == "auth-int"
    assert params["response"] == response_value(
        "MD5-sess", "u", "r", "p", "INVITE", "sip:1@h", "n", "auth-int", "00000001", "c", b"v=0"
    )

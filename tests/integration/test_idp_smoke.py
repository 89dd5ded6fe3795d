"""The OpenID provider harness itself (idp.py, idp/server.mjs): discovery, keys, a token per
persona, key rotation, the console's code flow. cavra is not involved."""
import base64
import hashlib
import os
import urllib.parse

import pytest
import requests

from idp import CONSOLE_CLIENT, OTHER_RESOURCE, PERSONAS, decode


def audiences(claims):
    aud = claims["aud"]
    return aud if isinstance(aud, list) else [aud]


def test_discovery_and_jwks(idp):
    d = idp.discovery()
    assert d["issuer"] == idp.issuer
    assert d["jwks_uri"] == idp.issuer + "/jwks"
    assert "client_credentials" in d["grant_types_supported"]
    assert "S256" in d["code_challenge_methods_supported"]
    keys = requests.get(d["jwks_uri"], timeout=10).json()["keys"]
    assert {(k["kty"], k["alg"]) for k in keys} == {("RSA", "RS256"), ("EC", "ES256")}
    assert all("d" not in k and k["kid"] for k in keys)  # public keys only, each with a kid


@pytest.mark.parametrize("persona", [p for p in PERSONAS if p != "wrongaud"])
def test_persona_token(idp, persona):
    header, claims = decode(idp.token(persona))
    es = persona == "agent-es256"
    assert header["typ"] == ("JWT" if persona == "agent-jwt" else "at+jwt")
    assert header["alg"] == ("ES256" if es else "RS256")
    key = {k["kid"]: k for k in idp.jwks()["keys"]}[header["kid"]]
    assert key["kty"] == ("EC" if es else "RSA")
    assert claims["iss"] == idp.issuer
    assert claims["aud"] == (["cavra-api", "other-api"] if persona == "agent-multiaud"
                             else idp.audience)
    assert claims["sub"] == persona
    assert claims["email"] == f"{persona}@example.test"
    assert claims["groups"] == PERSONAS[persona]
    assert claims["iat"] < claims["exp"] <= claims["iat"] + 600


def test_expected_groups():
    # The personas the identity tests rely on (issue 6), spelled out once more.
    assert PERSONAS["agent"] == ["cavra-agents"]
    assert PERSONAS["auditor"] == ["CAVRA-Auditors"]
    assert PERSONAS["operator"] == ["CAVRA-Security-Operations", "Repository Owners"]
    assert PERSONAS["platform"] == ["CAVRA-Platform-Security"]
    assert PERSONAS["ciso"] == ["CAVRA-CISO"]
    assert PERSONAS["cab"] == ["Change Advisory Board"]
    assert PERSONAS["nogroups"] == []


def test_other_audience_and_refusals(idp):
    _, claims = decode(idp.token("wrongaud"))
    assert audiences(claims) == ["other-api"]
    _, claims = decode(idp.token("operator", resource=OTHER_RESOURCE))
    assert audiences(claims) == ["other-api"] and claims["groups"] == PERSONAS["operator"]
    with pytest.raises(RuntimeError, match="invalid_target"):
        idp.token("operator", resource="urn:unknown-api")
    r = requests.post(idp.issuer + "/token", data={"grant_type": "client_credentials"},
                      auth=("operator", "wrong-secret"), timeout=10)
    assert r.status_code == 401


def test_key_rotation(new_idp):
    # Its own provider: the session's one is shared and keeps k1.
    with new_idp() as p:
        p.start("k1")
        issuer, k1 = p.issuer, p.kids()
        h1, _ = decode(p.token("agent"))
        assert h1["kid"] in k1

        p.restart("k2")
        assert p.issuer == issuer
        k2 = p.kids()
        assert not k1 & k2
        h2, c2 = decode(p.token("agent"))
        assert h2["kid"] in k2 and c2["iss"] == issuer

        p.restart("k2,k1")  # rotation with overlap: both published, k2 signs
        assert p.kids() == k1 | k2
        assert decode(p.token("agent"))[0]["kid"] == h2["kid"]

        p.restart("k1")  # a key set name always means the same keys
        assert p.kids() == k1

        p.stop()
        with pytest.raises(requests.ConnectionError):
            requests.get(issuer + "/jwks", timeout=5)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_console_code_flow(idp):
    # Any loopback port is accepted for the console's callback; nothing needs to listen there.
    redirect = "http://127.0.0.1:9/console/callback"
    verifier = b64url(os.urandom(32))
    params = {"client_id": CONSOLE_CLIENT[0], "response_type": "code", "redirect_uri": redirect,
              "scope": "openid email profile groups", "state": "s-1", "nonce": "n-1",
              "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()),
              "code_challenge_method": "S256"}
    back = idp.login(idp.issuer + "/auth?" + urllib.parse.urlencode(params), "operator")
    assert back.startswith(redirect + "?")
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(back).query))
    assert q["state"] == "s-1" and q["iss"] == idp.issuer

    exchange = {"grant_type": "authorization_code", "code": q["code"], "redirect_uri": redirect,
                "code_verifier": verifier}
    token_url = idp.discovery()["token_endpoint"]
    r = requests.post(token_url, data=exchange, auth=CONSOLE_CLIENT, timeout=10)
    assert r.status_code == 200, r.text
    header, claims = decode(r.json()["id_token"])
    assert header["alg"] == "RS256" and header["kid"] in idp.kids()
    assert claims["iss"] == idp.issuer and claims["aud"] == CONSOLE_CLIENT[0]
    assert claims["nonce"] == "n-1" and claims["sub"] == "operator"
    assert claims["email"] == "operator@example.test"
    assert claims["groups"] == PERSONAS["operator"]

    # A replayed code is refused; so is a request without PKCE.
    r = requests.post(token_url, data=exchange, auth=CONSOLE_CLIENT, timeout=10)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    del params["code_challenge"], params["code_challenge_method"]
    back = idp.login(idp.issuer + "/auth?" + urllib.parse.urlencode(params), "operator")
    assert back.startswith(redirect + "?") and "error=invalid_request" in back

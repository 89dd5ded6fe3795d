"""Fixtures for a real OpenID provider (idp.py, idp/server.mjs); conftest.py imports them.

`idp` is one provider for the whole session, with key set k1. It is shared: a test that
rotates keys or stops the provider uses `new_idp` for a provider of its own instead.
"""
import os

import pytest

from idp import IdP, unavailable


def require_idp():
    """Fails the test when the provider cannot run here; skips it instead with
    CAVRA_ALLOW_SKIP_IDP=1."""
    reason = unavailable()
    if reason:
        if os.environ.get("CAVRA_ALLOW_SKIP_IDP") == "1":
            pytest.skip(f"OpenID provider unavailable: {reason}")
        pytest.fail(f"OpenID provider unavailable: {reason} "
                    "(CAVRA_ALLOW_SKIP_IDP=1 skips these tests instead)", pytrace=False)


@pytest.fixture(scope="session")
def idp(tmp_path_factory):
    require_idp()
    server = IdP(tmp_path_factory.mktemp("idp"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def new_idp(tmp_path):
    """new_idp(console_redirect_uri=None) -> an IdP of the test's own, not yet started;
    stopped after the test."""
    require_idp()
    made = []

    def make(**kw):
        made.append(IdP(tmp_path / f"idp-{len(made)}", **kw))
        return made[-1]

    yield make
    for server in made:
        server.stop()

"""`cavra healthcheck`, the container image's health check, against a real `cavra serve` on
both backends: healthy and ready, alive but not ready (an OpenID issuer that is down), no
server at all, a server that never answers, and bad usage. Exit 0 means a 200, 1 anything
else (never 2, which container engines reserve), and a failure is one line on stderr."""
import contextlib
import socket

import pytest

from conftest import cavra, free_port, serve


@pytest.fixture
def migrated(db):
    assert cavra("migrate", "up", db=db)[0] == 0
    return db


def check(*args, listen, timeout=30):
    return cavra("healthcheck", *args, env={"CAVRA_LISTEN": listen}, timeout=timeout)


def test_healthy_and_ready(migrated, tmp_path):
    with serve(migrated, tmp=tmp_path) as s:
        # the image sets CAVRA_LISTEN=0.0.0.0:PORT: the check probes loopback
        for args, path in (((), "/healthz"), (("--ready",), "/readyz")):
            code, out, err = check(*args, listen=f"0.0.0.0:{s.port}")
            assert code == 0, err
            assert out == f"healthcheck: GET {path} on 127.0.0.1:{s.port}: 200\n" and err == ""
        # the settings flag works as for serve
        code, out, err = cavra("--listen", f"127.0.0.1:{s.port}", "healthcheck", "--ready")
        assert code == 0, err


def test_alive_but_not_ready_says_why(migrated, tmp_path):
    issuer = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with serve(migrated, "--auth-mode", "oidc", "--oidc-issuer", issuer,
               "--oidc-audience", "cavra-api", tmp=tmp_path) as s:
        assert check(listen=f"127.0.0.1:{s.port}")[0] == 0
        code, out, err = check("--ready", listen=f"127.0.0.1:{s.port}")
        assert code == 1 and out == "", out
        assert err.count("\n") == 1, err
        assert err.startswith(f"cavra: healthcheck: GET /readyz on 127.0.0.1:{s.port}: 503 ")
        assert '"problem":"auth"' in err and issuer in err, err


def test_no_server():
    port = free_port()
    code, out, err = check(listen=f"0.0.0.0:{port}")
    assert code == 1 and out == ""
    assert err == f"cavra: healthcheck: GET /healthz on 127.0.0.1:{port}: connect: " \
                  "Connection refused\n", err


def test_a_server_that_never_answers_times_out():
    with contextlib.closing(socket.socket()) as lsock:
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(4)  # the kernel accepts; nobody reads or writes
        port = lsock.getsockname()[1]
        code, out, err = check("--timeout", "1", listen=f"127.0.0.1:{port}", timeout=20)
    assert code == 1 and out == ""
    assert err.endswith(": no answer within the timeout\n") and err.count("\n") == 1, err


def test_ipv6_wildcard_probes_ipv6_loopback():
    code, _, err = check(listen=f"[::]:{free_port()}")
    assert code == 1 and "on [::1]:" in err, err


@pytest.mark.parametrize("args,message", [
    (("--timeout", "0"), "healthcheck: --timeout: '0' is not a number of seconds from 1 to 300"),
    (("--timeout",), "healthcheck: --timeout needs a number of seconds"),
    (("--bogus",), "healthcheck: unknown option '--bogus' (see 'cavra healthcheck --help')"),
])
def test_bad_usage(args, message):
    code, out, err = check(*args, listen="127.0.0.1:9")
    assert code == 2 and out == "" and err == f"cavra: {message}\n", err

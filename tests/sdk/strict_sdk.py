"""What the scripts of Ory's strict Python SDKs (tests/sdk/hydra_client_v1.py and
hydra_client_v2.py: `ory-hydra-client` 1.x and 2.x, the "python-prior" generator) share: calling
an operation with its status recorded, and the browser's part of a code flow (cookies, no
redirects followed, PKCE, the code exchange), which these SDKs do not do.
"""

import base64
import hashlib
import http.cookiejar
import json
import secrets
import urllib.error
import urllib.parse
import urllib.request

from ory_hydra_client.exceptions import ApiException

from scriptenv import BASE, query, record

REDIRECT = "https://app.example/cb"
SECRET = "a-client-secret-of-some-length-" + secrets.token_hex(8)


def sdk(op, fn, *args, **kwargs):
    """One SDK operation that must succeed; answers its (type-checked) data."""
    try:
        data, status, _ = fn(*args, _return_http_data_only=False, **kwargs)
    except ApiException as e:
        record(op, e.status)
        raise AssertionError(f"{op}: HTTP {e.status}: {e.body}") from None
    record(op, status)
    return data


def sdk_error(op, status, fn, *args, **kwargs):
    """One SDK operation that must fail with `status`; answers the error body."""
    try:
        fn(*args, **kwargs)
    except ApiException as e:
        record(op, e.status)
        assert e.status == status, f"{op}: expected HTTP {status}, got {e.status}: {e.body}"
        return json.loads(e.body or "{}")
    raise AssertionError(f"{op}: expected HTTP {status}, got a success")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def browser():
    """A browser: keeps cookies, does not follow redirects."""
    return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect)


def visit(b, url):
    """GET `url` in browser `b`: (status, Location)."""
    try:
        r = b.open(url)
        return r.status, r.headers.get("location")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("location")


def pkce():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def start(b, cid, challenge, scope="openid offline_access"):
    """Start a code flow for client `cid` in browser `b`: answers the login challenge."""
    q = urllib.parse.urlencode(dict(client_id=cid, response_type="code", redirect_uri=REDIRECT, scope=scope,
                                    state="state-" + secrets.token_hex(4), nonce="nonce-" + secrets.token_hex(4),
                                    code_challenge=challenge, code_challenge_method="S256"))
    status, loc = visit(b, f"{BASE}/oauth2/auth?{q}")
    assert status in (302, 303) and query(loc, "login_challenge"), (status, loc)
    return query(loc, "login_challenge")


def exchange(cid, code, verifier):
    """The code exchange with the PKCE verifier (client_secret_basic with SECRET)."""
    form = urllib.parse.urlencode(dict(grant_type="authorization_code", code=code, redirect_uri=REDIRECT,
                                       code_verifier=verifier)).encode()
    auth = base64.b64encode(f"{cid}:{SECRET}".encode()).decode()
    req = urllib.request.Request(f"{BASE}/oauth2/token", data=form, headers={"Authorization": f"Basic {auth}"})
    return json.loads(urllib.request.urlopen(req).read())

"""Ory's official Python SDK (ory-hydra-client, the generated OpenAPI client for Hydra) run
unchanged against hydra-edge.

    HYDRA_EDGE_URL=http://127.0.0.1:8787 HYDRA_EDGE_ADMIN_TOKEN=... target/venv/bin/python tests/sdk/hydra_client.py

Unlike the JavaScript SDK, the Python one validates every response against its pydantic models
(required fields, types), so a response that lacks a member the OpenAPI document requires fails
here. The admin API, the JSON Web Key API and a full login + consent + code flow go through the
SDK; the browser's part and the PKCE code exchange (the SDK's token exchange has no
code_verifier) use urllib. Sections run independently; the exit status is non-zero when one
fails. Used by tests/sdk.rs.
"""

import base64
import hashlib
import http.cookiejar
import json
import secrets
import urllib.error
import urllib.parse
import urllib.request

import ory_hydra_client as hydra
from ory_hydra_client.exceptions import ApiException

from scriptenv import BASE, TOKEN, query, record, run_id, run_sections

RUN = run_id("py")

# Hydra's OpenAPI document declares no security scheme on admin operations, so the admin token
# goes in as a default header of the API client.
admin_client = hydra.ApiClient(hydra.Configuration(host=BASE), "Authorization", f"Bearer {TOKEN}")
public_client = hydra.ApiClient(hydra.Configuration(host=BASE))
oauth2 = hydra.OAuth2Api(admin_client)
jwk = hydra.JwkApi(admin_client)
metadata = hydra.MetadataApi(admin_client)
oidc = hydra.OidcApi(public_client)
wellknown = hydra.WellknownApi(public_client)

def sdk(op, fn, *args, **kwargs):
    """Run one SDK operation (its *_with_http_info form) that must succeed."""
    try:
        res = fn(*args, **kwargs)
    except ApiException as e:
        record(op, e.status)
        raise AssertionError(f"{op}: HTTP {e.status}: {e.body}") from None
    record(op, res.status_code)
    return res


def sdk_error(op, status, fn, *args, **kwargs):
    """Run one SDK operation that must fail with `status`; answers the error body."""
    try:
        res = fn(*args, **kwargs)
    except ApiException as e:
        record(op, e.status)
        assert e.status == status, f"{op}: expected HTTP {status}, got {e.status}: {e.body}"
        body = json.loads(e.body or "{}")
        assert isinstance(body.get("error"), str), f"{op}: error body has 'error': {body}"
        return body
    record(op, res.status_code)
    raise AssertionError(f"{op}: expected HTTP {status}, got {res.status_code}")


# ---------------------------------------------------------------------------------------------


def version():
    res = sdk("MetadataApi.get_version", metadata.get_version_with_http_info)
    assert res.data.version and res.data.version.startswith("v"), res.data
    health = hydra.MetadataApi(public_client)
    assert sdk("MetadataApi.is_alive", health.is_alive_with_http_info).data.status == "ok"
    assert sdk("MetadataApi.is_ready", health.is_ready_with_http_info).data.status == "ok"
    sdk_error("MetadataApi.get_version (no token)", 401, hydra.MetadataApi(public_client).get_version)
    wrong = hydra.ApiClient(hydra.Configuration(host=BASE), "Authorization", "Bearer wrong")
    sdk_error("OAuth2Api.list_o_auth2_clients (wrong token)", 401, hydra.OAuth2Api(wrong).list_o_auth2_clients)
    return res.data.version


def discovery():
    jwks = sdk("WellknownApi.discover_json_web_keys", wellknown.discover_json_web_keys_with_http_info).data
    assert jwks.keys, jwks
    for key in jwks.keys:
        for private in ("d", "p", "q", "dp", "dq", "qi", "k"):
            assert getattr(key, private, None) is None, f"public JWKS must not contain {private}"
    # The whole document decodes into the SDK's strict model (every required field present).
    doc = sdk("OidcApi.discover_oidc_configuration", oidc.discover_oidc_configuration_with_http_info).data
    assert doc.issuer == BASE
    assert doc.token_endpoint == f"{BASE}/oauth2/token"
    assert "code" in doc.response_types_supported
    assert doc.device_authorization_endpoint == f"{BASE}/oauth2/device/auth"
    assert doc.end_session_endpoint == f"{BASE}/oauth2/sessions/logout"
    assert doc.backchannel_logout_supported and doc.frontchannel_logout_supported
    assert "urn:ietf:params:oauth:grant-type:device_code" in doc.grant_types_supported


def clients():
    cid = f"{RUN}-client"
    created = sdk(
        "OAuth2Api.create_o_auth2_client",
        oauth2.create_o_auth2_client_with_http_info,
        hydra.OAuth2Client(
            client_id=cid,
            client_name="Python client",
            redirect_uris=["https://app.example/cb"],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            scope="openid offline_access",
            audience=["https://api.example"],
            owner="py-owner",
            metadata={"tier": "gold"},
            authorization_code_grant_access_token_lifespan="2h",
        ),
    )
    assert created.status_code == 201
    c = created.data
    assert c.client_id == cid and c.client_secret, c
    assert c.token_endpoint_auth_method == "client_secret_basic"
    assert c.authorization_code_grant_access_token_lifespan == "2h0m0s"
    assert c.metadata == {"tier": "gold"}
    assert c.created_at is not None, "created_at parses as a date-time"

    got = sdk("OAuth2Api.get_o_auth2_client", oauth2.get_o_auth2_client_with_http_info, cid).data
    assert got.client_secret is None and got.client_name == "Python client", got
    sdk_error("OAuth2Api.create_o_auth2_client (duplicate)", 409, oauth2.create_o_auth2_client, hydra.OAuth2Client(client_id=cid))
    sdk_error("OAuth2Api.get_o_auth2_client (unknown)", 404, oauth2.get_o_auth2_client, f"{RUN}-missing")
    bad = sdk_error(
        "OAuth2Api.create_o_auth2_client (invalid)",
        400,
        oauth2.create_o_auth2_client,
        hydra.OAuth2Client(client_id=f"{RUN}-bad", redirect_uris=["https://a.example/cb#fragment"]),
    )
    assert bad["error"] == "invalid_redirect_uri", bad

    replaced = sdk(
        "OAuth2Api.set_o_auth2_client",
        oauth2.set_o_auth2_client_with_http_info,
        cid,
        hydra.OAuth2Client(client_name="Python client v2", redirect_uris=["https://app.example/cb2"], scope="openid"),
    ).data
    assert replaced.client_name == "Python client v2" and replaced.owner == "", replaced

    patched = sdk(
        "OAuth2Api.patch_o_auth2_client",
        oauth2.patch_o_auth2_client_with_http_info,
        cid,
        [
            hydra.JsonPatch(op="replace", path="/client_name", value="patched by Python"),
            hydra.JsonPatch(op="add", path="/redirect_uris/-", value="https://app.example/cb3"),
        ],
    ).data
    assert patched.client_name == "patched by Python"
    assert patched.redirect_uris == ["https://app.example/cb2", "https://app.example/cb3"]
    sdk_error(
        "OAuth2Api.patch_o_auth2_client (failing test op)",
        400,
        oauth2.patch_o_auth2_client,
        cid,
        [hydra.JsonPatch(op="test", path="/client_name", value="something else")],
    )

    life = sdk(
        "OAuth2Api.set_o_auth2_client_lifespans",
        oauth2.set_o_auth2_client_lifespans_with_http_info,
        cid,
        hydra.OAuth2ClientTokenLifespans(
            authorization_code_grant_access_token_lifespan="1h", client_credentials_grant_access_token_lifespan="30s"
        ),
    ).data
    assert life.authorization_code_grant_access_token_lifespan == "1h0m0s", life
    assert life.client_credentials_grant_access_token_lifespan == "30s", life

    # Pagination: follow Link rel="next" through the SDK's page_token parameter.
    owner = f"{RUN}-owner"
    ids = [
        sdk("OAuth2Api.create_o_auth2_client", oauth2.create_o_auth2_client_with_http_info,
            hydra.OAuth2Client(client_id=f"{owner}-{i}", owner=owner)).data.client_id
        for i in range(3)
    ]
    seen, token, pages = [], None, 0
    while True:
        res = sdk("OAuth2Api.list_o_auth2_clients", oauth2.list_o_auth2_clients_with_http_info,
                  page_size=2, owner=owner, page_token=token)
        pages += 1
        seen += [x.client_id for x in res.data]
        link = res.headers.get("link") or res.headers.get("Link") or ""
        nxt = [p for p in link.split(",") if 'rel="next"' in p]
        if not nxt:
            break
        target = nxt[0].split(";")[0].strip().strip("<>")
        token = urllib.parse.parse_qs(urllib.parse.urlparse(target).query)["page_token"][0]
        assert pages < 10
    assert seen == ids and pages == 2, (seen, pages)

    for x in ids + [cid]:
        assert sdk("OAuth2Api.delete_o_auth2_client", oauth2.delete_o_auth2_client_with_http_info, x).status_code == 204
    sdk_error("OAuth2Api.get_o_auth2_client (deleted)", 404, oauth2.get_o_auth2_client, cid)


def keys():
    kset = f"{RUN}-keys"
    created = sdk("JwkApi.create_json_web_key_set", jwk.create_json_web_key_set_with_http_info, kset,
                  hydra.CreateJsonWebKeySet(alg="ES256", use="sig", kid="ec-1"))
    assert created.status_code == 201
    ec = created.data.keys[0]
    assert (ec.kid, ec.kty, ec.crv, ec.alg, ec.use) == ("ec-1", "EC", "P-256", "ES256", "sig"), ec
    assert ec.d and ec.x and ec.y
    sdk("JwkApi.create_json_web_key_set", jwk.create_json_web_key_set_with_http_info, kset,
        hydra.CreateJsonWebKeySet(alg="RS256", use="sig", kid="rsa-1"))
    sdk_error("JwkApi.create_json_web_key_set (existing kid)", 409, jwk.create_json_web_key_set, kset,
              hydra.CreateJsonWebKeySet(alg="ES256", use="sig", kid="ec-1"))
    all_keys = sdk("JwkApi.get_json_web_key_set", jwk.get_json_web_key_set_with_http_info, kset).data
    assert [k.kid for k in all_keys.keys] == ["rsa-1", "ec-1"], all_keys
    one = sdk("JwkApi.get_json_web_key", jwk.get_json_web_key_with_http_info, kset, "ec-1").data
    assert one.keys[0].d == ec.d
    sdk_error("JwkApi.get_json_web_key (unknown kid)", 404, jwk.get_json_web_key, kset, "nope")

    imported = f"{RUN}-imported"
    put = sdk("JwkApi.set_json_web_key_set", jwk.set_json_web_key_set_with_http_info, imported,
              hydra.JsonWebKeySet(keys=[ec])).data
    assert [k.kid for k in put.keys] == ["ec-1"]
    ec2 = ec.model_copy(update={"kid": "ec-2"})
    assert sdk("JwkApi.set_json_web_key", jwk.set_json_web_key_with_http_info, imported, "ec-2", ec2).data.kid == "ec-2"
    assert sdk("JwkApi.delete_json_web_key", jwk.delete_json_web_key_with_http_info, imported, "ec-2").status_code == 204
    for s in (imported, kset):
        assert sdk("JwkApi.delete_json_web_key_set", jwk.delete_json_web_key_set_with_http_info, s).status_code == 204
    sdk_error("JwkApi.get_json_web_key_set (deleted)", 404, jwk.get_json_web_key_set, kset)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Keeps cookies, does not follow redirects."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect)

    def redirect(self, url, status=302):
        try:
            res = self.opener.open(url)
            got, location = res.status, res.headers.get("location")
        except urllib.error.HTTPError as e:
            got, location = e.code, e.headers.get("location")
        assert got == status, f"GET {url}: expected {status}, got {got} (Location: {location})"
        return urllib.parse.urljoin(url, location)


def flow():
    client = sdk(
        "OAuth2Api.create_o_auth2_client",
        oauth2.create_o_auth2_client_with_http_info,
        hydra.OAuth2Client(
            client_id=f"{RUN}-rp", redirect_uris=["https://rp.example/cb"], grant_types=["authorization_code", "refresh_token"],
            response_types=["code"], scope="openid offline_access profile", audience=["https://api.example"],
        ),
    ).data
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    auth = f"{BASE}/oauth2/auth?" + urllib.parse.urlencode({
        "client_id": client.client_id, "response_type": "code", "redirect_uri": "https://rp.example/cb",
        "scope": "openid offline_access profile", "state": state, "nonce": nonce, "audience": "https://api.example",
        "code_challenge": challenge, "code_challenge_method": "S256",
    })
    browser = Browser()
    login_challenge = query(browser.redirect(auth), "login_challenge")
    login = sdk("OAuth2Api.get_o_auth2_login_request", oauth2.get_o_auth2_login_request_with_http_info, login_challenge).data
    assert login.client.client_id == client.client_id and login.skip is False, login
    assert login.requested_scope == ["openid", "offline_access", "profile"], login
    accepted = sdk("OAuth2Api.accept_o_auth2_login_request", oauth2.accept_o_auth2_login_request_with_http_info,
                   login_challenge, hydra.AcceptOAuth2LoginRequest(subject="py-user", remember=True, remember_for=3600)).data
    consent_challenge = query(browser.redirect(accepted.redirect_to), "consent_challenge")
    consent = sdk("OAuth2Api.get_o_auth2_consent_request", oauth2.get_o_auth2_consent_request_with_http_info,
                  consent_challenge).data
    assert consent.subject == "py-user" and consent.client.client_id == client.client_id, consent
    granted = sdk(
        "OAuth2Api.accept_o_auth2_consent_request",
        oauth2.accept_o_auth2_consent_request_with_http_info,
        consent_challenge,
        hydra.AcceptOAuth2ConsentRequest(
            grant_scope=consent.requested_scope, grant_access_token_audience=consent.requested_access_token_audience,
            remember=True, session=hydra.AcceptOAuth2ConsentRequestSession(id_token={"email": "py@example.com"}),
        ),
    ).data
    back = browser.redirect(granted.redirect_to, 303)
    assert back.startswith("https://rp.example/cb?") and query(back, "state") == state, back
    code = query(back, "code")

    basic = base64.b64encode(f"{client.client_id}:{client.client_secret}".encode()).decode()
    req = urllib.request.Request(
        f"{BASE}/oauth2/token",
        data=urllib.parse.urlencode({"grant_type": "authorization_code", "code": code,
                                     "redirect_uri": "https://rp.example/cb", "code_verifier": verifier}).encode(),
        headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
    )
    raw = json.loads(urllib.request.urlopen(req).read())
    # The SDK's token model parses the response.
    tokens = hydra.OAuth2TokenExchange.from_dict(raw)
    assert tokens.access_token.startswith("ory_at_") and tokens.refresh_token.startswith("ory_rt_"), raw
    assert tokens.token_type == "bearer" and tokens.expires_in > 0
    claims = json.loads(base64.urlsafe_b64decode(tokens.id_token.split(".")[1] + "=="))
    assert claims["sub"] == "py-user" and claims["nonce"] == nonce and claims["aud"] == [client.client_id], claims
    assert claims["email"] == "py@example.com", claims

    # A second visit skips login (remembered) and rejecting consent reaches the client.
    browser2 = browser
    second = query(browser2.redirect(auth.replace(state, "second-state-0123456789")), "login_challenge")
    login2 = sdk("OAuth2Api.get_o_auth2_login_request", oauth2.get_o_auth2_login_request_with_http_info, second).data
    assert login2.skip is True and login2.subject == "py-user", login2
    redirect = sdk("OAuth2Api.reject_o_auth2_login_request", oauth2.reject_o_auth2_login_request_with_http_info, second,
                   hydra.RejectOAuth2Request(error="access_denied", error_description="No")).data
    denied = browser2.redirect(redirect.redirect_to, 303)
    assert query(denied, "error") == "access_denied" and query(denied, "code") is None, denied
    sdk_error("OAuth2Api.get_o_auth2_consent_request (forged)", 404, oauth2.get_o_auth2_consent_request, "forged")
    sdk("OAuth2Api.delete_o_auth2_client", oauth2.delete_o_auth2_client_with_http_info, client.client_id)


run_sections(
    "ory-hydra-client (Python)",
    [
        ("version", version),
        ("discovery", discovery),
        ("clients", clients),
        ("keys", keys),
        ("login + consent flow", flow),
    ],
)

"""Arca keys conformance, driven by the official azure-keyvault-keys KeyClient and CryptographyClient.

Every keys data-plane operation is exercised through the unmodified SDK with
DefaultAzureCredential configured only by `arca env` (see conftest.py). Signatures
and ciphertexts are also checked locally with `cryptography`, independently of the SDK.

The default vault is premium (RSA-HSM/EC-HSM allowed); the extra vaults of
conftest.EXTRA_VAULTS (arca2, arcapp) are created without --sku, i.e. standard, and
are used for the SKU rules. TLS verification and challenge-resource verification stay on.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import re
import uuid

import pytest
import requests
from azure.core.exceptions import (
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
)
from azure.core.pipeline.policies import HTTPPolicy
from azure.identity import DefaultAzureCredential
from azure.keyvault.keys import (
    JsonWebKey,
    KeyClient,
    KeyOperation,
    KeyReleasePolicy,
    KeyRotationLifetimeAction,
    KeyRotationPolicy,
    KeyRotationPolicyAction,
    KeyType,
    KeyVaultKey,
)
from azure.keyvault.keys.crypto import (
    CryptographyClient,
    EncryptionAlgorithm,
    KeyWrapAlgorithm,
    SignatureAlgorithm,
)
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)

HEX32 = re.compile(r"^[0-9a-f]{32}$")
STANDARD_VAULT = "arca2"  # conftest.EXTRA_VAULTS: `arca vault create arca2` (default --sku standard)

ALL_OPS = {"encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"}

# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.timezone.utc)


def b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def int_bytes(i: int, length: int | None = None) -> bytes:
    if length is None:
        length = max(1, (i.bit_length() + 7) // 8)
    return i.to_bytes(length, "big")


def expect_http_error(excinfo, status: int, *fragments: str) -> None:
    err = excinfo.value
    assert err.status_code == status, f"expected HTTP {status}, got {err.status_code}: {err}"
    text = str(err)
    for f in fragments:
        assert f.lower() in text.lower(), f"{f!r} not in error: {text}"


def kty(key: KeyVaultKey) -> str:
    return str(key.key_type.value if hasattr(key.key_type, "value") else key.key_type)


def ops_of(key: KeyVaultKey) -> set[str]:
    return {str(o.value if hasattr(o, "value") else o) for o in (key.key_operations or [])}


def crv_of(key: KeyVaultKey) -> str:
    c = key.key.crv
    return str(c.value if hasattr(c, "value") else c)


CURVE_SIZE = {"P-256": 32, "P-256K": 32, "P-384": 48, "P-521": 66}
CURVES = {"P-256": ec.SECP256R1(), "P-256K": ec.SECP256K1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}

# algorithm -> (hash, curve for ES*)
SIGN_ALGS = {
    "RS256": (hashes.SHA256(), None), "RS384": (hashes.SHA384(), None), "RS512": (hashes.SHA512(), None),
    "PS256": (hashes.SHA256(), None), "PS384": (hashes.SHA384(), None), "PS512": (hashes.SHA512(), None),
    "ES256": (hashes.SHA256(), "P-256"), "ES256K": (hashes.SHA256(), "P-256K"),
    "ES384": (hashes.SHA384(), "P-384"), "ES512": (hashes.SHA512(), "P-521"),
}


def digest_for(alg: str, data: bytes) -> bytes:
    h = SIGN_ALGS[alg][0]
    d = hashes.Hash(h)
    d.update(data)
    return d.finalize()


def public_key_of(key: KeyVaultKey):
    """The key's public half as a `cryptography` object, built from the JWK the service returned."""
    jwk = key.key
    if kty(key).startswith("RSA"):
        return rsa.RSAPublicNumbers(int.from_bytes(jwk.e, "big"), int.from_bytes(jwk.n, "big")).public_key()
    return ec.EllipticCurvePublicNumbers(int.from_bytes(jwk.x, "big"), int.from_bytes(jwk.y, "big"),
                                         CURVES[crv_of(key)]).public_key()


def verify_locally(pub, alg: str, digest: bytes, signature: bytes) -> None:
    """Raises cryptography.exceptions.InvalidSignature unless `signature` is valid."""
    h = SIGN_ALGS[alg][0]
    if alg.startswith("RS"):
        pub.verify(signature, digest, padding.PKCS1v15(), Prehashed(h))
    elif alg.startswith("PS"):
        # Key Vault's PS* use MGF1 with the same hash and a salt as long as the digest
        pub.verify(signature, digest, padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size), Prehashed(h))
    else:
        n = CURVE_SIZE[SIGN_ALGS[alg][1]]
        assert len(signature) == 2 * n, f"{alg}: raw r||s signature must be {2 * n} bytes, got {len(signature)}"
        r, s = int.from_bytes(signature[:n], "big"), int.from_bytes(signature[n:], "big")
        pub.verify(encode_dss_signature(r, s), digest, ec.ECDSA(Prehashed(h)))


OAEP = {
    "RSA1_5": padding.PKCS1v15(),
    "RSA-OAEP": padding.OAEP(mgf=padding.MGF1(hashes.SHA1()), algorithm=hashes.SHA1(), label=None),
    "RSA-OAEP-256": padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
}


def rsa_jwk(priv: rsa.RSAPrivateKey, **kw) -> JsonWebKey:
    n = priv.private_numbers()
    pub = n.public_numbers
    size = (pub.n.bit_length() + 7) // 8
    half = size // 2
    return JsonWebKey(kty=kw.pop("kty", "RSA"), n=int_bytes(pub.n, size), e=int_bytes(pub.e),
                      d=int_bytes(n.d, size), p=int_bytes(n.p, half), q=int_bytes(n.q, half),
                      dp=int_bytes(n.dmp1, half), dq=int_bytes(n.dmq1, half), qi=int_bytes(n.iqmp, half), **kw)


def ec_jwk(priv: ec.EllipticCurvePrivateKey, crv: str, **kw) -> JsonWebKey:
    n = priv.private_numbers()
    size = CURVE_SIZE[crv]
    return JsonWebKey(kty=kw.pop("kty", "EC"), crv=crv, x=int_bytes(n.public_numbers.x, size),
                      y=int_bytes(n.public_numbers.y, size), d=int_bytes(n.private_value, size), **kw)


class _NoKeysGet(HTTPPolicy):
    """Answers the CryptographyClient's key download (GET .../keys/NAME[/VERSION]) as a
    principal without the keys/get permission would see it: HTTP 403. The SDK documents
    that it then performs every operation in the service (it never gets key material), so
    encrypt/verify/wrap, which it otherwise does locally for RSA, reach Arca."""

    def __init__(self):
        super().__init__()
        self.sent: list[str] = []

    def send(self, request):
        req = request.http_request
        path = req.url.split("?", 1)[0]
        self.sent.append(f"{req.method} {path}")
        if req.method == "GET" and re.search(r"/keys/[^/]+(/[^/]*)?$", path):
            err = HttpResponseError(message="keys/get withheld by the test (simulated 403)")
            err.status_code = 403
            raise err
        return self.next.send(request)


def remote_crypto(key_id: str, credential) -> tuple[CryptographyClient, _NoKeysGet]:
    pol = _NoKeysGet()
    return CryptographyClient(key_id, credential, per_call_policies=[pol]), pol


def purge(client: KeyClient, *names: str) -> None:
    for n in names:
        try:
            client.begin_delete_key(n).result()
        except ResourceNotFoundError:
            pass
        try:
            client.purge_deleted_key(n)
        except ResourceNotFoundError:
            pass


# --------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def credential(arca):
    cred = DefaultAzureCredential()
    yield cred
    cred.close()


@pytest.fixture(scope="session")
def kc(arca, credential) -> KeyClient:
    c = KeyClient(vault_url=arca.vault_url, credential=credential)
    yield c
    c.close()


@pytest.fixture(scope="session")
def kc_std(arca, credential) -> KeyClient:
    c = KeyClient(vault_url=arca.url_of(STANDARD_VAULT), credential=credential)
    yield c
    c.close()


@pytest.fixture(scope="session")
def token(arca, credential) -> str:
    r = requests.get(f"{arca.vault_url}/keys?api-version=7.6", verify=arca.ca, timeout=10)
    assert r.status_code == 401, r.text
    header = r.headers["WWW-Authenticate"]
    resource = re.search(r'resource="([^"]+)"', header).group(1)
    return credential.get_token(resource + "/.default").token


@pytest.fixture(scope="module")
def rsa_key(kc) -> KeyVaultKey:
    return kc.create_rsa_key(uniq("rsa-shared"), size=2048)


@pytest.fixture(scope="module")
def ec_keys(kc) -> dict[str, KeyVaultKey]:
    return {c: kc.create_ec_key(uniq("ec-shared"), curve=c) for c in CURVE_SIZE}


@pytest.fixture(scope="module")
def imported_rsa(kc):
    """An RSA key whose private half the test holds (to check Arca's ciphertexts)."""
    priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key = kc.import_key(uniq("imp-rsa-shared"), rsa_jwk(priv, key_ops=sorted(ALL_OPS)))
    return key, priv


def raw(arca, token, method: str, path: str, body=None, api="7.6", vault_url=None):
    url = f"{vault_url or arca.vault_url}{path}?api-version={api}"
    return requests.request(method, url, json=body, verify=arca.ca, timeout=30,
                            headers={"Authorization": f"Bearer {token}"})


# --------------------------------------------------------------------------------------
# create
# --------------------------------------------------------------------------------------


class TestCreate:
    @pytest.mark.parametrize("size", [2048, 3072, 4096])
    def test_create_rsa_sizes(self, kc, size):
        name = uniq(f"rsa{size}")
        key = kc.create_rsa_key(name, size=size)
        assert kty(key) == "RSA"
        assert len(key.key.n) == size // 8, f"n is {len(key.key.n)} bytes"
        assert key.key.n[0] & 0x80, "n must have its top bit set (no leading zero, full size)"
        assert int.from_bytes(key.key.e, "big") == 65537
        assert key.key.d is None and key.key.p is None, "private material must never be returned"
        assert key.name == name and HEX32.match(key.properties.version)
        assert key.id == f"{kc.vault_url}/keys/{name}/{key.properties.version}"
        assert key.properties.enabled is True
        assert key.properties.created_on and key.properties.updated_on
        assert key.properties.recovery_level and key.properties.recoverable_days
        assert ops_of(key) == ALL_OPS
        assert key.properties.managed is None

    @pytest.mark.parametrize("exponent", [3, 65537])
    def test_create_rsa_public_exponent(self, kc, credential, exponent):
        key = kc.create_rsa_key(uniq("rsaexp"), size=2048, public_exponent=exponent)
        assert int.from_bytes(key.key.e, "big") == exponent
        # the key works: sign in Arca, verify here
        digest = hashlib.sha256(b"exp").digest()
        sig = CryptographyClient(key, credential).sign(SignatureAlgorithm.rs256, digest).signature
        verify_locally(public_key_of(key), "RS256", digest, sig)

    def test_create_rsa_defaults_to_2048(self, kc):
        key = kc.create_key(uniq("rsadef"), KeyType.rsa)
        assert len(key.key.n) == 256

    @pytest.mark.parametrize("curve", list(CURVE_SIZE))
    def test_create_ec_curves(self, kc, curve):
        key = kc.create_ec_key(uniq("ec"), curve=curve)
        assert kty(key) == "EC"
        assert crv_of(key) == curve
        n = CURVE_SIZE[curve]
        assert len(key.key.x) == n and len(key.key.y) == n
        assert key.key.d is None
        # the point is on the curve
        public_key_of(key)
        assert ops_of(key) == {"sign", "verify"}

    def test_create_ec_defaults_to_p256(self, kc):
        key = kc.create_key(uniq("ecdef"), KeyType.ec)
        assert crv_of(key) == "P-256"

    def test_create_rsa_hsm_in_premium_vault(self, kc):
        key = kc.create_rsa_key(uniq("rsahsm"), size=3072, hardware_protected=True)
        assert kty(key) == "RSA-HSM"
        assert len(key.key.n) == 384

    @pytest.mark.parametrize("curve", list(CURVE_SIZE))
    def test_create_ec_hsm_in_premium_vault(self, kc, curve):
        key = kc.create_ec_key(uniq("echsm"), curve=curve, hardware_protected=True)
        assert kty(key) == "EC-HSM" and crv_of(key) == curve
        assert len(key.key.x) == CURVE_SIZE[curve]

    @pytest.mark.parametrize("hsm", [False, True])
    def test_oct_keys_are_refused(self, kc, hsm):
        with pytest.raises(HttpResponseError) as ei:
            kc.create_oct_key(uniq("oct"), size=256, hardware_protected=hsm)
        expect_http_error(ei, 400)

    def test_hsm_types_refused_in_standard_vault(self, kc_std):
        with pytest.raises(HttpResponseError) as ei:
            kc_std.create_rsa_key(uniq("stdrsahsm"), hardware_protected=True)
        expect_http_error(ei, 400)
        with pytest.raises(HttpResponseError) as ei:
            kc_std.create_ec_key(uniq("stdechsm"), curve="P-256", hardware_protected=True)
        expect_http_error(ei, 400)

    def test_software_types_accepted_in_standard_vault(self, kc_std):
        assert kty(kc_std.create_rsa_key(uniq("stdrsa"))) == "RSA"
        assert kty(kc_std.create_ec_key(uniq("stdec"), curve="P-384")) == "EC"

    def test_unsupported_rsa_size_refused(self, kc):
        with pytest.raises(HttpResponseError) as ei:
            kc.create_rsa_key(uniq("rsa1024"), size=1024)
        expect_http_error(ei, 400)

    def test_create_with_attributes_tags_and_ops(self, kc):
        name = uniq("attrs")
        nbf, exp = utc(2030, 1, 1), utc(2031, 6, 1)
        key = kc.create_ec_key(name, curve="P-256", enabled=False, not_before=nbf, expires_on=exp,
                               tags={"a": "1", "b": "two"}, key_operations=[KeyOperation.sign])
        p = key.properties
        assert p.enabled is False and p.not_before == nbf and p.expires_on == exp
        assert p.tags == {"a": "1", "b": "two"}
        assert ops_of(key) == {"sign"}

    def test_invalid_name_refused(self, kc):
        with pytest.raises(HttpResponseError) as ei:
            kc.create_rsa_key("bad_name!")
        assert ei.value.status_code in (400, 404)

    def test_create_new_version_of_existing_name(self, kc):
        name = uniq("twice")
        a = kc.create_ec_key(name, curve="P-256")
        b = kc.create_ec_key(name, curve="P-384")
        assert a.properties.version != b.properties.version
        assert crv_of(kc.get_key(name)) == "P-384"
        assert crv_of(kc.get_key(name, a.properties.version)) == "P-256"


# --------------------------------------------------------------------------------------
# import
# --------------------------------------------------------------------------------------


class TestImport:
    @pytest.mark.parametrize("size", [2048, 3072])
    def test_import_rsa(self, kc, credential, size):
        priv = rsa.generate_private_key(public_exponent=65537, key_size=size)
        name = uniq("imprsa")
        key = kc.import_key(name, rsa_jwk(priv), tags={"src": "cryptography"})
        assert kty(key) == "RSA"
        assert int.from_bytes(key.key.n, "big") == priv.public_key().public_numbers().n
        assert key.key.d is None
        assert key.properties.tags == {"src": "cryptography"}
        # Arca signs with the imported private key: the local public key verifies it
        digest = hashlib.sha256(b"imported").digest()
        sig = CryptographyClient(key, credential).sign(SignatureAlgorithm.rs256, digest).signature
        priv.public_key().verify(sig, digest, padding.PKCS1v15(), Prehashed(hashes.SHA256()))

    def test_import_rsa_hardware_protected(self, kc):
        priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key = kc.import_key(uniq("imprsahsm"), rsa_jwk(priv), hardware_protected=True)
        assert kty(key) == "RSA-HSM"
        assert int.from_bytes(key.key.n, "big") == priv.public_key().public_numbers().n
        assert kc.get_key(key.name).key.kty == "RSA-HSM"

    def test_import_rsa_hardware_protected_refused_in_standard_vault(self, kc_std):
        priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        with pytest.raises(HttpResponseError) as ei:
            kc_std.import_key(uniq("stdimphsm"), rsa_jwk(priv), hardware_protected=True)
        expect_http_error(ei, 400)

    def test_import_rsa_into_standard_vault(self, kc_std):
        priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        assert kty(kc_std.import_key(uniq("stdimp"), rsa_jwk(priv))) == "RSA"

    @pytest.mark.parametrize("curve", list(CURVE_SIZE))
    def test_import_ec(self, kc, credential, curve):
        priv = ec.generate_private_key(CURVES[curve])
        key = kc.import_key(uniq("impec"), ec_jwk(priv, curve))
        assert kty(key) == "EC" and crv_of(key) == curve
        pn = priv.public_key().public_numbers()
        assert int.from_bytes(key.key.x, "big") == pn.x and int.from_bytes(key.key.y, "big") == pn.y
        assert key.key.d is None
        alg = {"P-256": "ES256", "P-256K": "ES256K", "P-384": "ES384", "P-521": "ES512"}[curve]
        digest = digest_for(alg, b"imported ec")
        sig = CryptographyClient(key, credential).sign(SignatureAlgorithm(alg), digest).signature
        verify_locally(priv.public_key(), alg, digest, sig)

    def test_import_ec_hardware_protected(self, kc):
        priv = ec.generate_private_key(ec.SECP384R1())
        key = kc.import_key(uniq("impechsm"), ec_jwk(priv, "P-384"), hardware_protected=True)
        assert kty(key) == "EC-HSM"

    def test_import_with_key_ops_and_disabled(self, kc):
        priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key = kc.import_key(uniq("impops"), rsa_jwk(priv, key_ops=["sign", "verify"]), enabled=False)
        assert ops_of(key) == {"sign", "verify"}
        assert key.properties.enabled is False

    def test_import_public_only_refused(self, kc):
        priv = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pn = priv.public_key().public_numbers()
        with pytest.raises(HttpResponseError) as ei:
            kc.import_key(uniq("imppub"), JsonWebKey(kty="RSA", n=int_bytes(pn.n), e=int_bytes(pn.e)))
        expect_http_error(ei, 400)

    def test_import_oct_refused(self, kc):
        with pytest.raises(HttpResponseError) as ei:
            kc.import_key(uniq("impoct"), JsonWebKey(kty="oct", k=os.urandom(32)))
        expect_http_error(ei, 400)

    def test_import_inconsistent_rsa_refused(self, kc):
        a = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        b = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = rsa_jwk(a)
        jwk.n = int_bytes(b.public_key().public_numbers().n, 256)
        with pytest.raises(HttpResponseError) as ei:
            kc.import_key(uniq("impbad"), jwk)
        expect_http_error(ei, 400)


# --------------------------------------------------------------------------------------
# EC coordinate sizes
# --------------------------------------------------------------------------------------


class TestEcCoordinateSizes:
    @pytest.mark.parametrize("curve", list(CURVE_SIZE))
    def test_created_keys_have_fixed_size_coordinates(self, kc, curve):
        """x and y are the full field size (RFC 7518 6.2.1.2), never stripped of leading zeros.
        48 keys per curve: a zero leading byte occurs with p~1/256 per coordinate on P-256/384
        (and ~1/2 for P-521, whose top byte holds one bit)."""
        n = CURVE_SIZE[curve]
        name = uniq("ecsz")
        bad = []
        for i in range(48):
            key = kc.create_ec_key(name, curve=curve)
            for c in ("x", "y"):
                v = getattr(key.key, c)
                if len(v) != n:
                    bad.append((i, c, len(v)))
            got = kc.get_key(name, key.properties.version)
            assert len(got.key.x) == n and len(got.key.y) == n
        assert not bad, f"{curve}: coordinates of wrong length (version#, coord, len): {bad}"
        assert sum(1 for _ in kc.list_properties_of_key_versions(name)) == 48

    @pytest.mark.parametrize("curve", list(CURVE_SIZE))
    def test_imported_key_with_leading_zero_coordinate_keeps_its_size(self, kc, curve):
        n = CURVE_SIZE[curve]
        for _ in range(5000):
            priv = ec.generate_private_key(CURVES[curve])
            if int_bytes(priv.public_key().public_numbers().x, n)[0] == 0:
                break
        else:
            pytest.fail("no key with a leading-zero x generated")
        key = kc.import_key(uniq("eczero"), ec_jwk(priv, curve))
        assert len(key.key.x) == n and key.key.x[0] == 0
        assert len(key.key.y) == n
        assert len(kc.get_key(key.name).key.x) == n


# --------------------------------------------------------------------------------------
# get / list / update
# --------------------------------------------------------------------------------------


class TestGetListUpdate:
    def test_get_latest_and_version(self, kc):
        name = uniq("getv")
        v1 = kc.create_rsa_key(name)
        v2 = kc.create_rsa_key(name)
        latest = kc.get_key(name)
        assert latest.properties.version == v2.properties.version
        assert latest.key.n == v2.key.n
        old = kc.get_key(name, v1.properties.version)
        assert old.id == v1.id and old.key.n == v1.key.n
        assert old.key.kid == v1.id

    def test_get_missing(self, kc):
        with pytest.raises(ResourceNotFoundError) as ei:
            kc.get_key(uniq("missing"))
        assert ei.value.status_code == 404
        name = uniq("missv")
        kc.create_ec_key(name)
        with pytest.raises(ResourceNotFoundError):
            kc.get_key(name, uuid.uuid4().hex)

    def test_list_pages_beyond_25(self, kc):
        prefix = uniq("page")
        names = {f"{prefix}-{i:02d}" for i in range(30)}
        for n in sorted(names):
            kc.create_ec_key(n, curve="P-256", tags={"batch": prefix})
        pages = list(kc.list_properties_of_keys().by_page())
        items = [kp for page in pages for kp in page]
        assert len(pages) >= 2, "more than 25 keys must come in several pages"
        seen = [kp.name for kp in items]
        assert len(seen) == len(set(seen)), "a key was listed twice"
        assert names <= set(seen)
        for kp in items:
            if kp.name in names:
                assert kp.tags == {"batch": prefix}
                assert kp.version is None, "list items are versionless"
                assert kp.id == f"{kc.vault_url}/keys/{kp.name}"
                assert kp.enabled is True
        # a small explicit page size
        small = list(kc.list_properties_of_keys(max_page_size=5).by_page())
        assert all(len(list(p)) <= 5 for p in small[:3])

    def test_list_versions(self, kc):
        name = uniq("vers")
        made = {kc.create_ec_key(name, curve="P-256").properties.version for _ in range(27)}
        pages = list(kc.list_properties_of_key_versions(name).by_page())
        got = [kp for p in pages for kp in p]
        assert len(pages) >= 2
        assert {kp.version for kp in got} == made
        for kp in got:
            assert kp.name == name and kp.id == f"{kc.vault_url}/keys/{name}/{kp.version}"

    def test_list_versions_of_missing_key_is_empty_or_404(self, kc):
        try:
            assert list(kc.list_properties_of_key_versions(uniq("nover"))) == []
        except ResourceNotFoundError:
            pass

    def test_update_properties(self, kc):
        name = uniq("upd")
        key = kc.create_rsa_key(name)
        exp = utc(2033, 3, 3)
        up = kc.update_key_properties(name, enabled=False, expires_on=exp, tags={"k": "v"},
                                      key_operations=[KeyOperation.sign, KeyOperation.verify])
        assert up.properties.version == key.properties.version
        assert up.properties.enabled is False
        assert up.properties.expires_on == exp
        assert up.properties.tags == {"k": "v"}
        assert ops_of(up) == {"sign", "verify"}
        assert up.key.n == key.key.n
        got = kc.get_key(name)
        assert got.properties.enabled is False and got.properties.tags == {"k": "v"}
        assert ops_of(got) == {"sign", "verify"}
        assert got.properties.updated_on >= key.properties.updated_on
        # only what is given changes
        up2 = kc.update_key_properties(name, enabled=True)
        assert up2.properties.enabled is True and up2.properties.tags == {"k": "v"}
        assert up2.properties.expires_on == exp and ops_of(up2) == {"sign", "verify"}

    def test_update_specific_version(self, kc):
        name = uniq("updv")
        v1 = kc.create_ec_key(name)
        v2 = kc.create_ec_key(name)
        kc.update_key_properties(name, v1.properties.version, tags={"old": "yes"})
        assert kc.get_key(name, v1.properties.version).properties.tags == {"old": "yes"}
        assert not kc.get_key(name, v2.properties.version).properties.tags

    def test_update_invalid_key_op_refused(self, kc):
        name = uniq("updbad")
        kc.create_ec_key(name)
        with pytest.raises(HttpResponseError) as ei:
            kc.update_key_properties(name, key_operations=["fly"])
        expect_http_error(ei, 400)

    def test_update_missing(self, kc):
        with pytest.raises(ResourceNotFoundError):
            kc.update_key_properties(uniq("updmiss"), enabled=False)


# --------------------------------------------------------------------------------------
# delete / recover / purge
# --------------------------------------------------------------------------------------


class TestDeleteRecoverPurge:
    def test_delete_get_list_recover(self, kc):
        name = uniq("del")
        key = kc.create_rsa_key(name, tags={"t": "1"})
        deleted = kc.begin_delete_key(name).result()
        assert deleted.name == name and deleted.key.n == key.key.n
        assert deleted.recovery_id == f"{kc.vault_url}/deletedkeys/{name}"
        assert deleted.deleted_date and deleted.scheduled_purge_date
        assert deleted.scheduled_purge_date > deleted.deleted_date
        with pytest.raises(ResourceNotFoundError):
            kc.get_key(name)
        got = kc.get_deleted_key(name)
        assert got.id == key.id and got.properties.tags == {"t": "1"}
        listed = {d.name: d for d in kc.list_deleted_keys()}
        assert name in listed and listed[name].recovery_id == deleted.recovery_id
        # the name is taken while deleted
        with pytest.raises(HttpResponseError) as ei:
            kc.create_rsa_key(name)
        expect_http_error(ei, 409)
        rec = kc.begin_recover_deleted_key(name).result()
        assert rec.id == key.id and rec.key.n == key.key.n
        assert kc.get_key(name).properties.tags == {"t": "1"}
        with pytest.raises(ResourceNotFoundError):
            kc.get_deleted_key(name)

    def test_purge(self, kc):
        name = uniq("purge")
        kc.create_ec_key(name)
        kc.begin_delete_key(name).result()
        kc.purge_deleted_key(name)
        with pytest.raises(ResourceNotFoundError):
            kc.get_deleted_key(name)
        assert name not in {d.name for d in kc.list_deleted_keys()}
        # the name is free again
        kc.create_ec_key(name)

    def test_purge_live_key_is_404(self, kc):
        name = uniq("purgelive")
        kc.create_ec_key(name)
        with pytest.raises(ResourceNotFoundError):
            kc.purge_deleted_key(name)

    def test_delete_missing(self, kc):
        with pytest.raises(ResourceNotFoundError):
            kc.begin_delete_key(uniq("delmiss"))

    def test_purge_protected_vault_refuses_purge(self, arca, credential):
        with KeyClient(arca.url_of("arcapp"), credential) as c:
            name = uniq("pp")
            c.create_rsa_key(name)
            c.begin_delete_key(name).result()
            with pytest.raises(HttpResponseError) as ei:
                c.purge_deleted_key(name)
            expect_http_error(ei, 403)
            c.begin_recover_deleted_key(name).result()

    def test_list_deleted_pages(self, kc):
        prefix = uniq("dpage")
        names = [f"{prefix}-{i:02d}" for i in range(27)]
        for n in names:
            kc.create_ec_key(n)
            kc.begin_delete_key(n).result()
        pages = list(kc.list_deleted_keys().by_page())
        seen = [d.name for p in pages for d in p]
        assert len(pages) >= 2 and set(names) <= set(seen)
        for n in names:
            kc.purge_deleted_key(n)


# --------------------------------------------------------------------------------------
# backup / restore
# --------------------------------------------------------------------------------------


class TestBackupRestore:
    def test_backup_restore_round_trip(self, kc, credential):
        name = uniq("bak")
        v1 = kc.create_rsa_key(name, tags={"v": "1"})
        v2 = kc.create_rsa_key(name, tags={"v": "2"})
        blob = kc.backup_key(name)
        assert isinstance(blob, bytes) and len(blob) > 100
        # restoring onto the live name is a conflict
        with pytest.raises(ResourceExistsError) as ei:
            kc.restore_key_backup(blob)
        assert ei.value.status_code == 409
        kc.begin_delete_key(name).result()
        # and onto a soft-deleted name too
        with pytest.raises(HttpResponseError) as ei:
            kc.restore_key_backup(blob)
        expect_http_error(ei, 409)
        kc.purge_deleted_key(name)
        restored = kc.restore_key_backup(blob)
        assert restored.name == name
        assert restored.properties.version == v2.properties.version
        assert restored.key.n == v2.key.n and restored.properties.tags == {"v": "2"}
        versions = {kp.version for kp in kc.list_properties_of_key_versions(name)}
        assert versions == {v1.properties.version, v2.properties.version}
        # the restored private key still signs
        digest = hashlib.sha256(b"restored").digest()
        sig = CryptographyClient(restored, credential).sign(SignatureAlgorithm.rs256, digest).signature
        verify_locally(public_key_of(v2), "RS256", digest, sig)

    def test_restore_into_other_vault_of_same_deployment(self, arca, kc, credential):
        name = uniq("bakx")
        kc.create_ec_key(name, curve="P-384")
        blob = kc.backup_key(name)
        with KeyClient(arca.url_of(STANDARD_VAULT), credential) as other:
            r = other.restore_key_backup(blob)
            assert r.id.startswith(arca.url_of(STANDARD_VAULT) + "/keys/")
            assert crv_of(r) == "P-384"

    def test_restore_hsm_key_into_standard_vault_is_400(self, kc, kc_std):
        name = uniq("bakhsm")
        kc.create_rsa_key(name, hardware_protected=True)
        with pytest.raises(HttpResponseError) as ei:
            kc_std.restore_key_backup(kc.backup_key(name))
        expect_http_error(ei, 400)

    def test_restore_garbage_is_400(self, kc):
        with pytest.raises(HttpResponseError) as ei:
            kc.restore_key_backup(b"not a backup blob at all")
        expect_http_error(ei, 400)

    def test_backup_missing(self, kc):
        with pytest.raises(ResourceNotFoundError):
            kc.backup_key(uniq("bakmiss"))


# --------------------------------------------------------------------------------------
# rotation
# --------------------------------------------------------------------------------------


class TestRotation:
    def test_rotate_makes_a_new_version(self, kc):
        name = uniq("rot")
        v1 = kc.create_rsa_key(name, size=3072, tags={"t": "x"}, key_operations=["sign", "verify"])
        v2 = kc.rotate_key(name)
        assert v2.name == name and v2.properties.version != v1.properties.version
        assert kty(v2) == "RSA" and len(v2.key.n) == 384 and v2.key.n != v1.key.n
        assert kc.get_key(name).properties.version == v2.properties.version
        assert {kp.version for kp in kc.list_properties_of_key_versions(name)} == {
            v1.properties.version, v2.properties.version}

    def test_rotate_ec_hsm_keeps_type_and_curve(self, kc):
        name = uniq("rotec")
        kc.create_ec_key(name, curve="P-521", hardware_protected=True)
        v2 = kc.rotate_key(name)
        assert kty(v2) == "EC-HSM" and crv_of(v2) == "P-521" and len(v2.key.x) == 66

    def test_rotate_missing(self, kc):
        with pytest.raises(ResourceNotFoundError):
            kc.rotate_key(uniq("rotmiss"))

    def test_default_policy(self, kc):
        """A key without a policy reports the default one: notify 30 days before expiry."""
        name = uniq("pol0")
        kc.create_ec_key(name)
        p = kc.get_key_rotation_policy(name)
        assert p.id == f"{kc.vault_url}/keys/{name}/rotationpolicy"
        acts = [(str(a.action.value if hasattr(a.action, "value") else a.action).lower(),
                 a.time_after_create, a.time_before_expiry) for a in p.lifetime_actions]
        assert acts == [("notify", None, "P30D")]

    def test_update_and_get_policy(self, kc):
        name = uniq("pol")
        kc.create_rsa_key(name)
        policy = KeyRotationPolicy(expires_in="P90D", lifetime_actions=[
            KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_after_create="P30D"),
            KeyRotationLifetimeAction(KeyRotationPolicyAction.notify, time_before_expiry="P10D"),
        ])
        out = kc.update_key_rotation_policy(name, policy)
        assert out.expires_in == "P90D"
        assert out.id == f"{kc.vault_url}/keys/{name}/rotationpolicy"
        got = kc.get_key_rotation_policy(name)
        assert got.expires_in == "P90D"
        acts = {str(a.action.value if hasattr(a.action, "value") else a.action).lower():
                (a.time_after_create, a.time_before_expiry) for a in got.lifetime_actions}
        assert acts == {"rotate": ("P30D", None), "notify": (None, "P10D")}
        assert got.created_on and got.updated_on
        # the policy's expiry applies to versions made by rotate
        v2 = kc.rotate_key(name)
        assert v2.properties.expires_on is not None
        delta = v2.properties.expires_on - dt.datetime.now(dt.timezone.utc)
        assert dt.timedelta(days=89) < delta <= dt.timedelta(days=90, minutes=5), delta

    def test_update_policy_with_keyword_overrides(self, kc):
        name = uniq("polkw")
        kc.create_ec_key(name)
        out = kc.update_key_rotation_policy(
            name, KeyRotationPolicy(), expires_in="P60D",
            lifetime_actions=[KeyRotationLifetimeAction(KeyRotationPolicyAction.rotate, time_before_expiry="P20D")])
        assert out.expires_in == "P60D"
        assert [(a.time_after_create, a.time_before_expiry) for a in out.lifetime_actions] == [(None, "P20D")]

    @pytest.mark.parametrize("expires_in,actions", [
        ("P90D", [("Rotate", "P1D", None)]),              # rotate sooner than 7 days after create
        ("P10D", [("Rotate", "P30D", None)]),             # expiry under 28 days
        ("P90D", [("Rotate", "P30D", "P30D")]),           # both triggers in one action
        ("P90D", [("Rotate", "thirty days", None)]),      # not an ISO 8601 duration
        ("P90D", [("Notify", "P30D", None)]),             # notify needs timeBeforeExpiry
        ("P90D", [("Rotate", "P30D", None), ("Rotate", "P40D", None)]),  # two rotate actions
    ])
    def test_invalid_policy_is_400(self, kc, expires_in, actions):
        name = uniq("polbad")
        kc.create_ec_key(name)
        policy = KeyRotationPolicy(expires_in=expires_in, lifetime_actions=[
            KeyRotationLifetimeAction(a, time_after_create=tac, time_before_expiry=tbe) for a, tac, tbe in actions])
        with pytest.raises(HttpResponseError) as ei:
            kc.update_key_rotation_policy(name, policy)
        expect_http_error(ei, 400)

    def test_policy_of_missing_key(self, kc):
        with pytest.raises(ResourceNotFoundError):
            kc.get_key_rotation_policy(uniq("polmiss"))


# --------------------------------------------------------------------------------------
# random bytes
# --------------------------------------------------------------------------------------


class TestRandomBytes:
    @pytest.mark.parametrize("count", [1, 2, 16, 32, 64, 127, 128])
    def test_counts(self, kc, count):
        b = kc.get_random_bytes(count)
        assert isinstance(b, bytes) and len(b) == count

    def test_bytes_differ(self, kc):
        assert kc.get_random_bytes(32) != kc.get_random_bytes(32)

    def test_129_is_400(self, kc):
        with pytest.raises(HttpResponseError) as ei:
            kc.get_random_bytes(129)
        expect_http_error(ei, 400)

    def test_0_is_400(self, arca, token):
        # the SDK refuses count < 1 itself (ValueError), so send it raw
        r = raw(arca, token, "POST", "/rng", {"count": 0})
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"], r.text
        r = raw(arca, token, "POST", "/rng", {"count": 129})
        assert r.status_code == 400, r.text


# --------------------------------------------------------------------------------------
# secure key release (no attestation authority is trusted: refused)
# --------------------------------------------------------------------------------------


class TestRelease:
    POLICY = json.dumps({"version": "1.0.0", "anyOf": [{"authority": "https://attest.example",
                                                         "allOf": [{"claim": "x-ms-attestation-type",
                                                                    "equals": "sevsnpvm"}]}]}).encode()

    def test_exportable_key_needs_release_policy(self, kc):
        with pytest.raises(HttpResponseError) as ei:
            kc.create_rsa_key(uniq("exp"), hardware_protected=True, exportable=True)
        expect_http_error(ei, 400)

    def test_release_non_exportable_is_refused(self, kc):
        name = uniq("rel")
        kc.create_rsa_key(name, hardware_protected=True)
        with pytest.raises(HttpResponseError) as ei:
            kc.release_key(name, "header.payload.sig")
        assert ei.value.status_code in (400, 403), str(ei.value)

    def test_release_exportable_is_refused_without_trusted_attestation(self, kc):
        name = uniq("relx")
        key = kc.create_rsa_key(name, hardware_protected=True, exportable=True,
                                release_policy=KeyReleasePolicy(self.POLICY))
        assert key.properties.exportable is True
        assert key.properties.release_policy is not None
        with pytest.raises(HttpResponseError) as ei:
            kc.release_key(name, "header.payload.sig")
        expect_http_error(ei, 403)


# --------------------------------------------------------------------------------------
# CryptographyClient: sign / verify
# --------------------------------------------------------------------------------------

RSA_SIGN = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]
EC_SIGN = ["ES256", "ES256K", "ES384", "ES512"]


class TestSignVerify:
    @pytest.mark.parametrize("alg", RSA_SIGN)
    @pytest.mark.parametrize("hsm", [False, True])
    def test_rsa_sign_verify(self, kc, credential, alg, hsm):
        key = kc.create_rsa_key(uniq("sig"), size=2048, hardware_protected=hsm)
        digest = digest_for(alg, b"rsa sign " + alg.encode())
        crypto = CryptographyClient(key, credential)
        res = crypto.sign(SignatureAlgorithm(alg), digest)
        assert res.key_id == key.id and str(res.algorithm.value if hasattr(res.algorithm, "value")
                                               else res.algorithm) == alg
        assert len(res.signature) == 256
        verify_locally(public_key_of(key), alg, digest, res.signature)
        # SDK verify (local, it has the public key) ...
        assert crypto.verify(SignatureAlgorithm(alg), digest, res.signature).is_valid
        # ... and verify in Arca
        remote, pol = remote_crypto(key.id, credential)
        v = remote.verify(SignatureAlgorithm(alg), digest, res.signature)
        assert any(s.endswith("/verify") for s in pol.sent), pol.sent
        assert v.is_valid is True
        bad = bytes([res.signature[0] ^ 1]) + res.signature[1:]
        assert remote.verify(SignatureAlgorithm(alg), digest, bad).is_valid is False
        other = digest_for(alg, b"other")
        assert remote.verify(SignatureAlgorithm(alg), other, res.signature).is_valid is False

    @pytest.mark.parametrize("alg", EC_SIGN)
    @pytest.mark.parametrize("hsm", [False, True])
    def test_ec_sign_verify(self, kc, credential, alg, hsm):
        curve = SIGN_ALGS[alg][1]
        key = kc.create_ec_key(uniq("esig"), curve=curve, hardware_protected=hsm)
        crypto = CryptographyClient(key, credential)
        remote, pol = remote_crypto(key.id, credential)
        for i in range(8):  # several signatures: r and s of fixed width even with leading zeros
            digest = digest_for(alg, f"ec sign {alg} {i}".encode())
            res = crypto.sign(SignatureAlgorithm(alg), digest)
            verify_locally(public_key_of(key), alg, digest, res.signature)
            assert crypto.verify(SignatureAlgorithm(alg), digest, res.signature).is_valid
            assert remote.verify(SignatureAlgorithm(alg), digest, res.signature).is_valid is True
        assert any(s.endswith("/verify") for s in pol.sent), pol.sent
        # an all-zero signature (r = s = 0) is invalid
        assert remote.verify(SignatureAlgorithm(alg), digest, bytes(len(res.signature))).is_valid is False

    @pytest.mark.parametrize("alg", EC_SIGN)
    def test_ec_locally_made_signature_verifies_in_arca(self, kc, credential, alg):
        curve = SIGN_ALGS[alg][1]
        priv = ec.generate_private_key(CURVES[curve])
        key = kc.import_key(uniq("eimp"), ec_jwk(priv, curve))
        digest = digest_for(alg, b"made locally")
        r, s = decode_dss_signature(priv.sign(digest, ec.ECDSA(Prehashed(SIGN_ALGS[alg][0]))))
        n = CURVE_SIZE[curve]
        sig = int_bytes(r, n) + int_bytes(s, n)
        remote, _ = remote_crypto(key.id, credential)
        assert remote.verify(SignatureAlgorithm(alg), digest, sig).is_valid is True

    @pytest.mark.parametrize("alg", ["PS256", "RS384"])
    def test_rsa_locally_made_signature_verifies_in_arca(self, kc, credential, imported_rsa, alg):
        key, priv = imported_rsa
        h = SIGN_ALGS[alg][0]
        digest = digest_for(alg, b"made locally")
        pad = padding.PKCS1v15() if alg.startswith("RS") else padding.PSS(padding.MGF1(h), h.digest_size)
        sig = priv.sign(digest, pad, Prehashed(h))
        remote, _ = remote_crypto(key.id, credential)
        assert remote.verify(SignatureAlgorithm(alg), digest, sig).is_valid is True

    def test_sign_with_specific_version(self, kc, credential):
        name = uniq("sigv")
        v1 = kc.create_ec_key(name, curve="P-256")
        kc.create_ec_key(name, curve="P-256")
        digest = digest_for("ES256", b"v1")
        res = kc.get_cryptography_client(name, key_version=v1.properties.version).sign(SignatureAlgorithm.es256, digest)
        assert res.key_id == v1.id
        verify_locally(public_key_of(v1), "ES256", digest, res.signature)

    @pytest.mark.parametrize("alg,size", [("RS256", 31), ("RS256", 33), ("PS384", 32), ("ES256", 48),
                                          ("ES512", 48)])
    def test_wrong_digest_length_is_400(self, kc, credential, rsa_key, ec_keys, alg, size):
        key = rsa_key if alg[0] in "RP" else ec_keys[SIGN_ALGS[alg][1]]
        with pytest.raises(HttpResponseError) as ei:
            CryptographyClient(key, credential).sign(SignatureAlgorithm(alg), os.urandom(size))
        expect_http_error(ei, 400)

    @pytest.mark.parametrize("alg,curve", [("ES256", "P-384"), ("ES384", "P-256"), ("ES256K", "P-256"),
                                           ("ES256", "P-256K"), ("RS256", "P-256")])
    def test_algorithm_key_mismatch_is_400(self, kc, credential, ec_keys, alg, curve):
        key = ec_keys[curve]
        remote, _ = remote_crypto(key.id, credential)
        with pytest.raises(HttpResponseError) as ei:
            remote.sign(SignatureAlgorithm(alg), digest_for(alg, b"x"))
        expect_http_error(ei, 400)

    def test_es_alg_on_rsa_key_is_400(self, kc, credential, rsa_key):
        with pytest.raises(HttpResponseError) as ei:
            CryptographyClient(rsa_key, credential).sign(SignatureAlgorithm.es256, os.urandom(32))
        expect_http_error(ei, 400)

    def test_key_ops_enforced_for_sign(self, kc, credential):
        key = kc.create_rsa_key(uniq("noSign"), key_operations=["verify", "encrypt"])
        with pytest.raises(HttpResponseError) as ei:
            CryptographyClient(key, credential).sign(SignatureAlgorithm.rs256, os.urandom(32))
        expect_http_error(ei, 403)

    def test_disabled_key_refuses_sign(self, kc, credential):
        name = uniq("dis")
        key = kc.create_ec_key(name, curve="P-256")
        kc.update_key_properties(name, enabled=False)
        remote, _ = remote_crypto(key.id, credential)
        with pytest.raises(HttpResponseError) as ei:
            remote.sign(SignatureAlgorithm.es256, os.urandom(32))
        expect_http_error(ei, 403)
        kc.update_key_properties(name, enabled=True)
        remote.sign(SignatureAlgorithm.es256, os.urandom(32))

    def test_expired_key_refuses_sign(self, kc, credential):
        name = uniq("expd")
        key = kc.create_ec_key(name, curve="P-256", expires_on=utc(2001, 1, 1))
        remote, _ = remote_crypto(key.id, credential)
        with pytest.raises(HttpResponseError) as ei:
            remote.sign(SignatureAlgorithm.es256, os.urandom(32))
        expect_http_error(ei, 403)

    def test_not_yet_valid_key_refuses_sign(self, kc, credential):
        key = kc.create_ec_key(uniq("nbf"), curve="P-256", not_before=utc(2099, 1, 1))
        remote, _ = remote_crypto(key.id, credential)
        with pytest.raises(HttpResponseError) as ei:
            remote.sign(SignatureAlgorithm.es256, os.urandom(32))
        expect_http_error(ei, 403)

    def test_deleted_key_sign_is_404(self, kc, credential):
        name = uniq("delsig")
        key = kc.create_ec_key(name)
        kc.begin_delete_key(name).result()
        remote, _ = remote_crypto(key.id, credential)
        with pytest.raises(HttpResponseError) as ei:
            remote.sign(SignatureAlgorithm.es256, os.urandom(32))
        expect_http_error(ei, 404)


# --------------------------------------------------------------------------------------
# CryptographyClient: encrypt / decrypt / wrap / unwrap
# --------------------------------------------------------------------------------------

ENC_ALGS = ["RSA1_5", "RSA-OAEP", "RSA-OAEP-256"]


class TestEncryptDecrypt:
    @pytest.mark.parametrize("alg", ENC_ALGS)
    def test_sdk_local_encrypt_decrypt_in_arca(self, kc, credential, rsa_key, alg):
        crypto = CryptographyClient(rsa_key, credential)
        pt = b"plaintext for " + alg.encode()
        enc = crypto.encrypt(EncryptionAlgorithm(alg), pt)
        assert enc.key_id == rsa_key.id and len(enc.ciphertext) == 256
        dec = crypto.decrypt(EncryptionAlgorithm(alg), enc.ciphertext)
        assert dec.plaintext == pt
        assert dec.key_id == rsa_key.id

    @pytest.mark.parametrize("alg", ENC_ALGS)
    def test_cryptography_encrypt_decrypt_in_arca(self, kc, credential, rsa_key, alg):
        ct = public_key_of(rsa_key).encrypt(b"from cryptography", OAEP[alg])
        dec = CryptographyClient(rsa_key, credential).decrypt(EncryptionAlgorithm(alg), ct)
        assert dec.plaintext == b"from cryptography"

    @pytest.mark.parametrize("alg", ENC_ALGS)
    @pytest.mark.parametrize("hsm", [False, True])
    def test_server_side_encrypt(self, kc, credential, alg, hsm):
        key = kc.create_rsa_key(uniq("senc"), size=2048, hardware_protected=hsm)
        remote, pol = remote_crypto(key.id, credential)
        pt = os.urandom(32)
        enc = remote.encrypt(EncryptionAlgorithm(alg), pt)
        assert any(s.endswith("/encrypt") for s in pol.sent), f"encrypt did not reach Arca: {pol.sent}"
        assert enc.key_id == key.id and len(enc.ciphertext) == 256
        assert remote.decrypt(EncryptionAlgorithm(alg), enc.ciphertext).plaintext == pt
        assert CryptographyClient(key, credential).decrypt(EncryptionAlgorithm(alg), enc.ciphertext).plaintext == pt

    @pytest.mark.parametrize("alg", ENC_ALGS)
    def test_server_side_ciphertext_decrypts_locally(self, kc, credential, imported_rsa, alg):
        key, priv = imported_rsa
        remote, _ = remote_crypto(key.id, credential)
        enc = remote.encrypt(EncryptionAlgorithm(alg), b"server ciphertext")
        assert priv.decrypt(enc.ciphertext, OAEP[alg]) == b"server ciphertext"

    def test_decrypt_garbage_is_400(self, kc, credential, rsa_key):
        with pytest.raises(HttpResponseError) as ei:
            CryptographyClient(rsa_key, credential).decrypt(EncryptionAlgorithm.rsa_oaep_256, os.urandom(256))
        expect_http_error(ei, 400)

    def test_encrypt_too_long_is_400(self, kc, credential, rsa_key):
        remote, _ = remote_crypto(rsa_key.id, credential)
        with pytest.raises(HttpResponseError) as ei:
            remote.encrypt(EncryptionAlgorithm.rsa_oaep_256, os.urandom(300))
        expect_http_error(ei, 400)

    def test_encrypt_with_ec_key_is_refused(self, kc, credential, ec_keys):
        # EC keys carry key_ops sign/verify only, so the refusal may come from key_ops (403)
        # or from the key type (400); either way no ciphertext
        remote, _ = remote_crypto(ec_keys["P-256"].id, credential)
        with pytest.raises(HttpResponseError) as ei:
            remote.encrypt(EncryptionAlgorithm.rsa_oaep, b"x")
        assert ei.value.status_code in (400, 403), str(ei.value)

    def test_symmetric_algorithms_are_400(self, kc, credential, rsa_key):
        remote, _ = remote_crypto(rsa_key.id, credential)
        with pytest.raises(HttpResponseError) as ei:
            remote.encrypt(EncryptionAlgorithm.a256_gcm, b"x" * 16)
        expect_http_error(ei, 400)

    def test_key_ops_enforced_for_decrypt(self, kc, credential):
        key = kc.create_rsa_key(uniq("signonly"), key_operations=["sign", "verify"])
        ct = public_key_of(key).encrypt(b"secret", OAEP["RSA-OAEP"])
        with pytest.raises(HttpResponseError) as ei:
            CryptographyClient(key, credential).decrypt(EncryptionAlgorithm.rsa_oaep, ct)
        expect_http_error(ei, 403)
        remote, _ = remote_crypto(key.id, credential)
        with pytest.raises(HttpResponseError) as ei:
            remote.encrypt(EncryptionAlgorithm.rsa_oaep, b"secret")
        expect_http_error(ei, 403)
        with pytest.raises(HttpResponseError) as ei:
            remote.unwrap_key(KeyWrapAlgorithm.rsa_oaep, ct)
        expect_http_error(ei, 403)
        # sign is allowed
        CryptographyClient(key, credential).sign(SignatureAlgorithm.rs256, os.urandom(32))

    def test_key_ops_updated_are_enforced(self, kc, credential):
        name = uniq("opsupd")
        key = kc.create_rsa_key(name)
        ct = public_key_of(key).encrypt(b"s", OAEP["RSA-OAEP-256"])
        kc.update_key_properties(name, key_operations=["encrypt"])
        with pytest.raises(HttpResponseError) as ei:
            CryptographyClient(key, credential).decrypt(EncryptionAlgorithm.rsa_oaep_256, ct)
        expect_http_error(ei, 403)
        kc.update_key_properties(name, key_operations=["decrypt"])
        assert CryptographyClient(key, credential).decrypt(EncryptionAlgorithm.rsa_oaep_256, ct).plaintext == b"s"

    def test_disabled_key_refuses_decrypt(self, kc, credential):
        name = uniq("disdec")
        key = kc.create_rsa_key(name)
        ct = public_key_of(key).encrypt(b"s", OAEP["RSA-OAEP"])
        kc.update_key_properties(name, enabled=False)
        with pytest.raises(HttpResponseError) as ei:
            CryptographyClient(key, credential).decrypt(EncryptionAlgorithm.rsa_oaep, ct)
        expect_http_error(ei, 403)


class TestWrapUnwrap:
    @pytest.mark.parametrize("alg", ENC_ALGS)
    @pytest.mark.parametrize("hsm", [False, True])
    def test_wrap_unwrap_round_trips(self, kc, credential, alg, hsm):
        key = kc.create_rsa_key(uniq("wrap"), size=3072, hardware_protected=hsm)
        cek = os.urandom(32)
        local = CryptographyClient(key, credential)
        w = local.wrap_key(KeyWrapAlgorithm(alg), cek)
        assert w.key_id == key.id and len(w.encrypted_key) == 384
        assert local.unwrap_key(KeyWrapAlgorithm(alg), w.encrypted_key).key == cek
        remote, pol = remote_crypto(key.id, credential)
        w2 = remote.wrap_key(KeyWrapAlgorithm(alg), cek)
        assert any(s.endswith("/wrapkey") for s in (x.lower() for x in pol.sent)), pol.sent
        u2 = remote.unwrap_key(KeyWrapAlgorithm(alg), w2.encrypted_key)
        assert u2.key == cek and u2.key_id == key.id
        # a key wrapped with `cryptography` unwraps in Arca
        w3 = public_key_of(key).encrypt(cek, OAEP[alg])
        assert local.unwrap_key(KeyWrapAlgorithm(alg), w3).key == cek

    @pytest.mark.parametrize("alg", ENC_ALGS)
    def test_server_wrapped_key_unwraps_locally(self, kc, credential, imported_rsa, alg):
        key, priv = imported_rsa
        remote, _ = remote_crypto(key.id, credential)
        cek = os.urandom(32)
        w = remote.wrap_key(KeyWrapAlgorithm(alg), cek)
        assert priv.decrypt(w.encrypted_key, OAEP[alg]) == cek

    def test_wrap_with_ec_key_is_refused(self, kc, credential, ec_keys):
        remote, _ = remote_crypto(ec_keys["P-384"].id, credential)
        with pytest.raises(HttpResponseError) as ei:
            remote.wrap_key(KeyWrapAlgorithm.rsa_oaep_256, os.urandom(32))
        assert ei.value.status_code in (400, 403), str(ei.value)

    def test_aes_key_wrap_is_400(self, kc, credential, rsa_key):
        remote, _ = remote_crypto(rsa_key.id, credential)
        with pytest.raises(HttpResponseError) as ei:
            remote.wrap_key(KeyWrapAlgorithm.aes_256, os.urandom(32))
        expect_http_error(ei, 400)


# --------------------------------------------------------------------------------------
# wire details the SDK hides
# --------------------------------------------------------------------------------------


class TestWire:
    def test_unauthenticated_is_401_challenge(self, arca):
        r = requests.post(f"{arca.vault_url}/keys/x/create?api-version=7.6", data=b"",
                          headers={"Content-Length": "0"}, verify=arca.ca, timeout=10)
        assert r.status_code == 401 and "WWW-Authenticate" in r.headers, r.text

    def test_key_bundle_shape(self, arca, token):
        name = uniq("wire")
        r = raw(arca, token, "POST", f"/keys/{name}/create", {"kty": "EC", "crv": "P-256"})
        assert r.status_code == 200, r.text
        j = r.json()
        assert set(j) >= {"key", "attributes"}
        assert j["key"]["kid"] == f"{arca.vault_url}/keys/{name}/" + j["key"]["kid"].rsplit("/", 1)[1]
        assert "d" not in j["key"]
        a = j["attributes"]
        assert isinstance(a["created"], int) and isinstance(a["updated"], int)
        assert a["enabled"] is True and a["recoveryLevel"]
        # base64url without padding in the JWK
        for c in ("x", "y"):
            assert "=" not in j["key"][c] and "+" not in j["key"][c] and "/" not in j["key"][c]

    def test_sign_response_shape(self, arca, token):
        name = uniq("wiresig")
        r = raw(arca, token, "POST", f"/keys/{name}/create", {"kty": "RSA", "key_size": 2048})
        kid = r.json()["key"]["kid"]
        r = raw(arca, token, "POST", f"/keys/{name}/sign", {"alg": "RS256", "value": b64u(os.urandom(32))})
        assert r.status_code == 200, r.text
        j = r.json()
        assert j["kid"] == kid and "=" not in j["value"]


# --------------------------------------------------------------------------------------
# attributes that depend on the vault, encodings, error codes, api-versions
# --------------------------------------------------------------------------------------


class TestVaultDependentAttributes:
    def test_recovery_level_default_vault(self, kc):
        p = kc.create_ec_key(uniq("rl")).properties
        assert p.recovery_level == "Recoverable+Purgeable" and p.recoverable_days == 90

    def test_recovery_level_short_retention_vault(self, kc_std):
        # arca2: --retention-days 7 (DeletionRecoveryLevel "CustomizedRecoverable+Purgeable")
        p = kc_std.create_ec_key(uniq("rl7")).properties
        assert p.recovery_level == "CustomizedRecoverable+Purgeable" and p.recoverable_days == 7

    def test_recovery_level_purge_protected_vault(self, arca, credential):
        with KeyClient(arca.url_of("arcapp"), credential) as c:
            p = c.create_ec_key(uniq("rlpp")).properties
            assert p.recovery_level == "Recoverable" and p.recoverable_days == 90

    def test_exponent_is_minimally_encoded(self, rsa_key):
        assert rsa_key.key.e == b"\x01\x00\x01"

    def test_created_equals_updated_on_create(self, kc):
        p = kc.create_ec_key(uniq("ts")).properties
        assert p.created_on == p.updated_on

    def test_not_found_error_code(self, kc):
        with pytest.raises(ResourceNotFoundError) as ei:
            kc.get_key(uniq("nf"))
        assert ei.value.error.code == "KeyNotFound", str(ei.value)


API_VERSIONS = ["2025-07-01", "7.6", "7.5", "7.4", "7.3", "7.2", "7.1", "7.0", "2016-10-01"]


class TestApiVersions:
    @pytest.mark.parametrize("api", API_VERSIONS)
    def test_create_get_sign_list_delete(self, arca, credential, api):
        with KeyClient(arca.vault_url, credential, api_version=api) as c:
            name = uniq("api")
            key = c.create_ec_key(name, curve="P-256")
            assert c.get_key(name).id == key.id
            c.update_key_properties(name, tags={"api": api})
            digest = digest_for("ES256", api.encode())
            sig = c.get_cryptography_client(name).sign(SignatureAlgorithm.es256, digest).signature
            verify_locally(public_key_of(key), "ES256", digest, sig)
            assert any(kp.name == name for kp in c.list_properties_of_keys())
            blob = c.backup_key(name)
            c.begin_delete_key(name).result()
            c.purge_deleted_key(name)
            assert c.restore_key_backup(blob).id == key.id


class TestNamesVersionsAndBadInput:
    def test_names_are_case_insensitive(self, kc, credential):
        name = uniq("CaseKey")
        key = kc.create_ec_key(name, curve="P-256")
        assert kc.get_key(name.lower()).properties.version == key.properties.version
        assert kc.get_key(name.upper(), key.properties.version).key.x == key.key.x
        digest = digest_for("ES256", b"case")
        sig = kc.get_cryptography_client(name.lower()).sign(SignatureAlgorithm.es256, digest).signature
        verify_locally(public_key_of(key), "ES256", digest, sig)

    def test_literal_path_segments_are_case_insensitive(self, arca, token, kc):
        name = uniq("seg")
        kc.create_rsa_key(name)
        r = raw(arca, token, "POST", f"/Keys/{name}/Sign", {"alg": "RS256", "value": b64u(os.urandom(32))})
        assert r.status_code == 200, r.text
        kc.begin_delete_key(name).result()
        assert raw(arca, token, "GET", f"/deletedKeys/{name}").status_code == 200

    def test_old_version_still_signs_after_rotate(self, kc, credential):
        name = uniq("oldsig")
        v1 = kc.create_rsa_key(name)
        v2 = kc.rotate_key(name)
        digest = digest_for("PS256", b"old")
        res = kc.get_cryptography_client(name, key_version=v1.properties.version).sign(SignatureAlgorithm.ps256,
                                                                                     digest)
        assert res.key_id == v1.id
        verify_locally(public_key_of(v1), "PS256", digest, res.signature)
        with pytest.raises(Exception):
            verify_locally(public_key_of(v2), "PS256", digest, res.signature)

    def test_disabled_old_version_refuses_while_latest_signs(self, kc, credential):
        name = uniq("disold")
        v1 = kc.create_ec_key(name, curve="P-256")
        kc.create_ec_key(name, curve="P-256")
        kc.update_key_properties(name, v1.properties.version, enabled=False)
        with pytest.raises(HttpResponseError) as ei:
            kc.get_cryptography_client(name, key_version=v1.properties.version).sign(
                SignatureAlgorithm.es256, os.urandom(32))
        expect_http_error(ei, 403)
        kc.get_cryptography_client(name).sign(SignatureAlgorithm.es256, os.urandom(32))

    def test_update_deleted_key_is_404(self, kc):
        name = uniq("upddel")
        kc.create_ec_key(name)
        kc.begin_delete_key(name).result()
        with pytest.raises(ResourceNotFoundError):
            kc.update_key_properties(name, enabled=False)

    @pytest.mark.parametrize("body", [
        {"alg": "XYZ", "value": "AAAA"},
        {"alg": "RS256"},
        {"value": "AAAA"},
        {"alg": "RS256", "value": "not base64url!"},
        {"alg": "RS256", "value": ""},
    ])
    def test_bad_sign_bodies_are_400(self, arca, token, rsa_key, body):
        r = raw(arca, token, "POST", f"/keys/{rsa_key.name}/sign", body)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"], r.text

    def test_bad_create_bodies_are_400(self, arca, token):
        for body in ({"kty": "RSA", "key_size": 2049}, {"kty": "EC", "crv": "P-192"}, {"kty": "nope"},
                     {"kty": "RSA", "crv": "P-256"}, {"kty": "EC", "key_size": 2048}, {}):
            r = raw(arca, token, "POST", f"/keys/{uniq('bad')}/create", body)
            assert r.status_code == 400, f"{body}: {r.status_code} {r.text}"

package e2e

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"math/big"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azkeys"
)

func (f *fixture) keysClient(vault string) *azkeys.Client {
	c, err := azkeys.NewClient(f.vaultURL(vault), f.credential(), &azkeys.ClientOptions{ClientOptions: f.clientOptions()})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func rsaPub(k *azkeys.JSONWebKey) *rsa.PublicKey {
	return &rsa.PublicKey{N: new(big.Int).SetBytes(k.N), E: int(new(big.Int).SetBytes(k.E).Int64())}
}

// TestKeysCrossVerifyGoSDK: signatures made by Arca verify with Go's
// standard library; data encrypted locally decrypts in Arca.
func TestKeysCrossVerifyGoSDK(t *testing.T) {
	f := startArca(t)
	ctx := context.Background()
	c := f.keysClient("arca")

	rk, err := c.CreateKey(ctx, "rsa", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSA), KeySize: to.Ptr[int32](3072)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rk.Key.N) != 384 || len(rk.Key.KeyOps) != 6 || rk.Key.KID.Version() == "" {
		t.Fatalf("rsa key: n=%d ops=%v kid=%s", len(rk.Key.N), rk.Key.KeyOps, *rk.Key.KID)
	}
	pub := rsaPub(rk.Key)
	digest := sha256.Sum256([]byte("payload"))
	for _, alg := range []azkeys.SignatureAlgorithm{azkeys.SignatureAlgorithmRS256, azkeys.SignatureAlgorithmPS256} {
		s, err := c.Sign(ctx, "rsa", "", azkeys.SignParameters{Algorithm: to.Ptr(alg), Value: digest[:]}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if alg == azkeys.SignatureAlgorithmRS256 {
			err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], s.Result)
		} else {
			err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], s.Result, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
		if err != nil {
			t.Fatalf("%s: stdlib rejects Arca's signature: %v", alg, err)
		}
		v, err := c.Verify(ctx, "rsa", "", azkeys.VerifyParameters{Algorithm: to.Ptr(alg), Digest: digest[:], Signature: s.Result}, nil)
		if err != nil || !*v.Value {
			t.Fatalf("%s: server verify: %v", alg, err)
		}
	}
	// Encrypt locally, decrypt in Arca; wrap in Arca, unwrap in Arca.
	ct, _ := rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, []byte("local plaintext"), nil)
	d, err := c.Decrypt(ctx, "rsa", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP256), Value: ct}, nil)
	if err != nil || string(d.Result) != "local plaintext" {
		t.Fatalf("decrypt of local ciphertext: %q %v", d.Result, err)
	}
	cek := make([]byte, 32)
	rand.Read(cek)
	w, err := c.WrapKey(ctx, "rsa", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP), Value: cek}, nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := c.UnwrapKey(ctx, "rsa", rk.Key.KID.Version(), azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP), Value: w.Result}, nil)
	if err != nil || string(u.Result) != string(cek) {
		t.Fatalf("unwrap: %v", err)
	}

	for _, tc := range []struct {
		crv   azkeys.CurveName
		alg   azkeys.SignatureAlgorithm
		curve elliptic.Curve
		size  int
		hash  func([]byte) []byte
	}{
		{azkeys.CurveNameP256, azkeys.SignatureAlgorithmES256, elliptic.P256(), 32, func(b []byte) []byte { h := sha256.Sum256(b); return h[:] }},
		{azkeys.CurveNameP384, azkeys.SignatureAlgorithmES384, elliptic.P384(), 48, func(b []byte) []byte { h := sha512.Sum384(b); return h[:] }},
		{azkeys.CurveNameP521, azkeys.SignatureAlgorithmES512, elliptic.P521(), 66, func(b []byte) []byte { h := sha512.Sum512(b); return h[:] }},
	} {
		name := "ec-" + string(tc.crv)[2:]
		ek, err := c.CreateKey(ctx, name, azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC), Curve: to.Ptr(tc.crv)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(ek.Key.X) != tc.size || len(ek.Key.Y) != tc.size {
			t.Fatalf("%s: x/y lengths %d/%d, want %d", tc.crv, len(ek.Key.X), len(ek.Key.Y), tc.size)
		}
		dg := tc.hash([]byte("payload"))
		s, err := c.Sign(ctx, name, "", azkeys.SignParameters{Algorithm: to.Ptr(tc.alg), Value: dg}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Result) != 2*tc.size {
			t.Fatalf("%s: signature is %d bytes, want raw r||s of %d", tc.alg, len(s.Result), 2*tc.size)
		}
		pk, err := ecdsa.ParseUncompressedPublicKey(tc.curve, append(append([]byte{4}, ek.Key.X...), ek.Key.Y...))
		if err != nil {
			t.Fatalf("%s: Arca's x/y are not a point on the curve: %v", tc.crv, err)
		}
		r, sv := new(big.Int).SetBytes(s.Result[:tc.size]), new(big.Int).SetBytes(s.Result[tc.size:])
		if !ecdsa.Verify(pk, dg, r, sv) {
			t.Fatalf("%s: stdlib rejects Arca's signature", tc.alg)
		}
		// A digest of the wrong length is a 400, not a signature.
		_, err = c.Sign(ctx, name, "", azkeys.SignParameters{Algorithm: to.Ptr(tc.alg), Value: dg[:10]}, nil)
		respErr(t, err, 400, "BadParameter")
	}
}

// TestKeyRulesGoSDK: key_ops, disabled keys, SKU rules, oct refusal.
func TestKeyRulesGoSDK(t *testing.T) {
	f := startArca(t)
	ctx := context.Background()
	c := f.keysClient("arca")
	if _, err := c.CreateKey(ctx, "signonly", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSA),
		KeyOps: to.SliceOfPtrs(azkeys.KeyOperationSign, azkeys.KeyOperationVerify)}, nil); err != nil {
		t.Fatal(err)
	}
	_, err := c.Decrypt(ctx, "signonly", "", azkeys.KeyOperationParameters{Algorithm: to.Ptr(azkeys.EncryptionAlgorithmRSAOAEP), Value: make([]byte, 256)}, nil)
	respErr(t, err, 403, "Forbidden")
	if _, err := c.UpdateKey(ctx, "signonly", "", azkeys.UpdateKeyParameters{KeyAttributes: &azkeys.KeyAttributes{Enabled: to.Ptr(false)}}, nil); err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(nil)
	_, err = c.Sign(ctx, "signonly", "", azkeys.SignParameters{Algorithm: to.Ptr(azkeys.SignatureAlgorithmRS256), Value: digest[:]}, nil)
	respErr(t, err, 403, "Forbidden")
	_, err = c.CreateKey(ctx, "sym", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeOct)}, nil)
	respErr(t, err, 400, "BadParameter")

	f.createVault(vaultWithSKU("plain", f.r.App.Facts.TenantID, "standard"))
	sc := f.keysClient("plain")
	_, err = sc.CreateKey(ctx, "hsm", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeRSAHSM)}, nil)
	respErr(t, err, 400, "BadParameter")
	if _, err := sc.CreateKey(ctx, "soft", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC)}, nil); err != nil {
		t.Fatal(err)
	}
	hk, err := c.CreateKey(ctx, "hsm", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeECHSM)}, nil)
	if err != nil || *hk.Key.Kty != azkeys.KeyTypeECHSM {
		t.Fatalf("EC-HSM in premium vault: %v", err)
	}
}

// TestRotationSchedulerOnInjectedClock: a Rotate action after P30D fires
// once the injected clock passes it, and the policy's expiryTime sets the
// new version's expiry.
func TestRotationSchedulerOnInjectedClock(t *testing.T) {
	f := startArca(t)
	ctx := context.Background()
	c := f.keysClient("arca")
	if _, err := c.CreateKey(ctx, "rot", azkeys.CreateKeyParameters{Kty: to.Ptr(azkeys.KeyTypeEC)}, nil); err != nil {
		t.Fatal(err)
	}
	_, err := c.UpdateKeyRotationPolicy(ctx, "rot", azkeys.KeyRotationPolicy{
		Attributes: &azkeys.KeyRotationPolicyAttributes{ExpiryTime: to.Ptr("P90D")},
		LifetimeActions: []*azkeys.LifetimeAction{{Action: &azkeys.LifetimeActionType{Type: to.Ptr(azkeys.KeyRotationPolicyActionRotate)},
			Trigger: &azkeys.LifetimeActionTrigger{TimeAfterCreate: to.Ptr("P30D")}}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.UpdateKeyRotationPolicy(ctx, "rot", azkeys.KeyRotationPolicy{
		LifetimeActions: []*azkeys.LifetimeAction{{Action: &azkeys.LifetimeActionType{Type: to.Ptr(azkeys.KeyRotationPolicyActionRotate)},
			Trigger: &azkeys.LifetimeActionTrigger{TimeAfterCreate: to.Ptr("P1D")}}},
	}, nil)
	respErr(t, err, 400, "BadParameter") // below Azure's 7-day minimum
	f.clock.Advance(30*24*time.Hour - time.Minute)
	if n, err := f.r.App.RotateDue(ctx); err != nil || n != 0 {
		t.Fatalf("rotated %d early (%v)", n, err)
	}
	f.clock.Advance(time.Minute)
	if n, err := f.r.App.RotateDue(ctx); err != nil || n != 1 {
		t.Fatalf("rotated %d when due (%v)", n, err)
	}
	c = f.keysClient("arca") // the clock moved past the old token's expiry
	k, err := c.GetKey(ctx, "rot", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if k.Attributes.Expires == nil || k.Attributes.Expires.Unix() != f.clock.Now().AddDate(0, 0, 90).Unix() {
		t.Fatalf("rotated version expiry = %v", k.Attributes.Expires)
	}
	n := 0
	for p := c.NewListKeyPropertiesVersionsPager("rot", nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Value)
	}
	if n != 2 {
		t.Fatalf("%d versions after one rotation", n)
	}
	// Not due again until another 30 days pass.
	if n, _ := f.r.App.RotateDue(ctx); n != 0 {
		t.Fatalf("rotated again immediately")
	}
}

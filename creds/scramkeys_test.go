package creds_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/saslkit/saslkit/creds"
)

// scramVectors are the stored keys of the RFC 5802 section 5 (SCRAM-SHA-1)
// and RFC 7677 section 3 (SCRAM-SHA-256) examples: user "user", password
// "pencil", 4096 iterations.
var scramVectors = []struct {
	name, hash, password, salt, storedKey, serverKey string
	dovecot, rfc5803                                 string
}{
	{
		name: "RFC 5802", hash: "SHA-1", password: "pencil",
		salt: "QSXCR+Q6sek8bf92", storedKey: "6dlGYMOdZcOPutkcNY8U2g7vK9Y=", serverKey: "D+CSWLOshSulAsxiupA+qs2/fTE=",
		dovecot: "{SCRAM-SHA-1}4096,QSXCR+Q6sek8bf92,6dlGYMOdZcOPutkcNY8U2g7vK9Y=,D+CSWLOshSulAsxiupA+qs2/fTE=",
		rfc5803: "SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE=",
	},
	{
		name: "RFC 7677", hash: "SHA-256", password: "pencil",
		salt: "W22ZaJ0SNY7soEsUEjb6gQ==", storedKey: "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=", serverKey: "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
		dovecot: "{SCRAM-SHA-256}4096,W22ZaJ0SNY7soEsUEjb6gQ==,WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=,wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
		rfc5803: "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=",
	},
}

func unbase64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// vectorSCRAMKeys returns the keys of scramVectors[i].
func vectorSCRAMKeys(t testing.TB, i int) creds.SCRAMKeys {
	t.Helper()
	v := scramVectors[i]
	return creds.SCRAMKeys{Hash: v.hash, Salt: unbase64(t, v.salt), Iterations: 4096,
		StoredKey: unbase64(t, v.storedKey), ServerKey: unbase64(t, v.serverKey)}
}

func TestDeriveSCRAMKeys(t *testing.T) {
	for i, v := range scramVectors {
		t.Run(v.name, func(t *testing.T) {
			k, err := creds.DeriveSCRAMKeys(v.hash, v.password, unbase64(t, v.salt), 4096, false)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(vectorSCRAMKeys(t, i), k); diff != "" {
				t.Errorf("keys (-want +got):\n%s", diff)
			}
			// The password is prepared with SASLprep first, unless noprep.
			k2, err := creds.DeriveSCRAMKeys(v.hash, "pen\u00ADcil", unbase64(t, v.salt), 4096, false)
			if err != nil || !bytes.Equal(k2.StoredKey, k.StoredKey) {
				t.Errorf("prepared password: %v, keys differ", err)
			}
			k3, err := creds.DeriveSCRAMKeys(v.hash, "pen\u00ADcil", unbase64(t, v.salt), 4096, true)
			if err != nil || bytes.Equal(k3.StoredKey, k.StoredKey) {
				t.Errorf("noprep password: %v, keys equal", err)
			}
		})
	}
	// Every hash of the family, with a random 16-octet salt by default.
	for _, tc := range []struct {
		hash string
		size int
	}{{"SHA-1", 20}, {"SHA-256", 32}, {"SHA-512", 64}, {"SHA3-512", 64}} {
		a, err := creds.DeriveSCRAMKeys(tc.hash, "pencil", nil, creds.MinSCRAMIterations, false)
		if err != nil {
			t.Fatalf("%s: %v", tc.hash, err)
		}
		b, err := creds.DeriveSCRAMKeys(tc.hash, "pencil", nil, creds.MinSCRAMIterations, false)
		if err != nil {
			t.Fatalf("%s: %v", tc.hash, err)
		}
		if a.Hash != tc.hash || len(a.Salt) != 16 || len(a.StoredKey) != tc.size || len(a.ServerKey) != tc.size || a.Iterations != creds.MinSCRAMIterations {
			t.Errorf("%s: keys %+v", tc.hash, a)
		}
		if bytes.Equal(a.Salt, b.Salt) {
			t.Errorf("%s: two random salts are equal", tc.hash)
		}
	}
	// The salt is copied.
	salt := []byte("0123456789abcdef")
	k, err := creds.DeriveSCRAMKeys("SHA-256", "pencil", salt, 4096, false)
	if err != nil {
		t.Fatal(err)
	}
	salt[0] = 'X'
	if k.Salt[0] != '0' {
		t.Error("DeriveSCRAMKeys keeps the caller's salt")
	}

	for name, tc := range map[string]struct {
		hash, password string
		salt           []byte
		iterations     int
	}{
		"unknown hash":          {"MD5", "pencil", nil, 4096},
		"PLUS is no hash":       {"SHA-256-PLUS", "pencil", nil, 4096},
		"too few iterations":    {"SHA-256", "pencil", nil, creds.MinSCRAMIterations - 1},
		"zero iterations":       {"SHA-256", "pencil", nil, 0},
		"too many iterations":   {"SHA-256", "pencil", nil, creds.MaxSCRAMIterations + 1},
		"empty salt":            {"SHA-256", "pencil", []byte{}, 4096},
		"long salt":             {"SHA-256", "pencil", make([]byte, creds.MaxSCRAMSalt+1), 4096},
		"empty password":        {"SHA-256", "", nil, 4096},
		"prepared to nothing":   {"SHA-256", "\u00AD", nil, 4096},
		"password fails prep":   {"SHA-256", "pen\u0007cil", nil, 4096},
		"unassigned code point": {"SHA-256", "pen\U000E0080cil", nil, 4096},
	} {
		if k, err := creds.DeriveSCRAMKeys(tc.hash, tc.password, tc.salt, tc.iterations, false); err == nil {
			t.Errorf("%s: no error, keys %+v", name, k)
		}
	}
	if _, err := creds.DeriveSCRAMKeys("SHA-256", "x", make([]byte, creds.MaxSCRAMSalt), creds.MinSCRAMIterations, false); err != nil {
		t.Errorf("longest salt: %v", err)
	}
}

func TestParseSCRAMKeys(t *testing.T) {
	for i, v := range scramVectors {
		t.Run(v.name, func(t *testing.T) {
			want := vectorSCRAMKeys(t, i)
			for _, s := range []string{v.dovecot, v.rfc5803, strings.Replace(v.dovecot, "SCRAM", "scram", 1)} {
				k, err := creds.ParseSCRAMKeys(s)
				if err != nil {
					t.Fatalf("%s: %v", s, err)
				}
				if diff := cmp.Diff(want, k); diff != "" {
					t.Errorf("%s (-want +got):\n%s", s, diff)
				}
			}
			if diff := cmp.Diff(v.dovecot, want.Dovecot()); diff != "" {
				t.Errorf("String (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(v.rfc5803, want.RFC5803()); diff != "" {
				t.Errorf("RFC5803 (-want +got):\n%s", diff)
			}
		})
	}
	const (
		salt   = "QSXCR+Q6sek8bf92"
		stored = "6dlGYMOdZcOPutkcNY8U2g7vK9Y="
		server = "D+CSWLOshSulAsxiupA+qs2/fTE="
	)
	for _, bad := range []string{
		"", "{SCRAM-SHA-1}", "{SCRAM-SHA-1}4096," + salt + "," + stored,
		"{SCRAM-SHA-256}4096," + salt + "," + stored + "," + server, // key sizes
		"{SCRAM-MD5}4096," + salt + "," + stored + "," + server,
		"{SCRAM-SHA-1-PLUS}4096," + salt + "," + stored + "," + server,
		"{SHA-1}4096," + salt + "," + stored + "," + server,
		"{SCRAM-SHA-1}0," + salt + "," + stored + "," + server,
		"{SCRAM-SHA-1}-1," + salt + "," + stored + "," + server,
		"{SCRAM-SHA-1}+4096," + salt + "," + stored + "," + server,
		"{SCRAM-SHA-1}04096," + salt + "," + stored + "," + server,
		"{SCRAM-SHA-1}99999999999," + salt + "," + stored + "," + server,
		"{SCRAM-SHA-1}4096,," + stored + "," + server,
		"{SCRAM-SHA-1}4096,!!!," + stored + "," + server,
		"{SCRAM-SHA-1}4096,QSXCR+Q6sek8bf9," + stored + "," + server, // not padded
		"{SCRAM-SHA-1}4096," + salt + "," + stored + "," + server + ",x",
		"{SCRAM-SHA-1 4096," + salt + "," + stored + "," + server,
		"SCRAM-SHA-1$4096:" + salt + "$" + stored,
		"SCRAM-SHA-1$4096$" + salt + "$" + stored + ":" + server,
		"SCRAM-SHA-1$4096:" + salt + "$" + stored + ":" + server + "$",
	} {
		if _, err := creds.ParseSCRAMKeys(bad); !errors.Is(err, creds.ErrBadSCRAMKeys) {
			t.Errorf("%q: %v, want ErrBadSCRAMKeys", bad, err)
		} else if strings.Contains(err.Error(), stored) {
			t.Errorf("%q: error %q holds the keys", bad, err)
		}
	}
	// Iteration counts below what clients accept parse, for stores to
	// refuse; above MaxSCRAMIterations they do not.
	if k, err := creds.ParseSCRAMKeys("{SCRAM-SHA-1}1," + salt + "," + stored + "," + server); err != nil || k.Iterations != 1 {
		t.Errorf("1 iteration: %+v, %v", k, err)
	}
	if _, err := creds.ParseSCRAMKeys("{SCRAM-SHA-1}10000001," + salt + "," + stored + "," + server); !errors.Is(err, creds.ErrBadSCRAMKeys) {
		t.Errorf("10000001 iterations: %v, want ErrBadSCRAMKeys", err)
	}
}

// FuzzParseSCRAMKeys feeds arbitrary strings to ParseSCRAMKeys and checks
// that keys it accepts survive the round trip through both forms.
func FuzzParseSCRAMKeys(f *testing.F) {
	for _, v := range scramVectors {
		f.Add(v.dovecot)
		f.Add(v.rfc5803)
	}
	f.Add("{scram-sha3-512}4096,AA==,,")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := creds.ParseSCRAMKeys(s)
		if err != nil {
			if !errors.Is(err, creds.ErrBadSCRAMKeys) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(k.Salt) == 0 || len(k.Salt) > creds.MaxSCRAMSalt || k.Iterations < 1 || k.Iterations > creds.MaxSCRAMIterations {
			t.Fatalf("accepted keys out of bounds: %+v", k)
		}
		for _, enc := range []string{k.Dovecot(), k.RFC5803()} {
			k2, err := creds.ParseSCRAMKeys(enc)
			if err != nil {
				t.Fatalf("round trip of %q: %v", enc, err)
			}
			if diff := cmp.Diff(k, k2); diff != "" {
				t.Fatalf("round trip of %q (-parsed +reparsed):\n%s", enc, diff)
			}
		}
	})
}

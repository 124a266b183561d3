package hash

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"
)

// goodVector is an encoded hash that must verify with Password.
type goodVector struct {
	Name     string `json:"name"`
	Scheme   string `json:"scheme"`
	Password string `json:"password"`
	Encoded  string `json:"encoded"`
	Source   string `json:"source"`
}

// badVector is an encoded hash that Verify must reject with a *FormatError
// whose Scheme field is Scheme.
type badVector struct {
	Name    string `json:"name"`
	Encoded string `json:"encoded"`
	Scheme  string `json:"scheme"`
}

func loadJSON[T any](tb testing.TB, name string) []T {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	var v []T
	if err := json.Unmarshal(b, &v); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	if len(v) == 0 {
		tb.Fatalf("%s: no vectors", name)
	}
	return v
}

func goodVectors(tb testing.TB) []goodVector { return loadJSON[goodVector](tb, "good.json") }
func badVectors(tb testing.TB) []badVector   { return loadJSON[badVector](tb, "bad.json") }

const wrongPassword = "wrong"

func TestVerifyGood(t *testing.T) {
	for _, v := range goodVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			got, err := Scheme(v.Encoded)
			if err != nil {
				t.Fatalf("Scheme: %v", err)
			}
			if diff := cmp.Diff(v.Scheme, got); diff != "" {
				t.Errorf("Scheme mismatch (-want +got):\n%s", diff)
			}
			if err := Verify(v.Encoded, v.Password); err != nil {
				t.Errorf("Verify(correct password) = %v, want nil", err)
			}
			if err := Verify(v.Encoded, wrongPassword); !errors.Is(err, ErrMismatch) {
				t.Errorf("Verify(%q) = %v, want ErrMismatch", wrongPassword, err)
			}
			if v.Password != "" {
				// A one-byte change must not match either.
				p := []byte(v.Password)
				p[len(p)-1] ^= 1
				if err := Verify(v.Encoded, string(p)); !errors.Is(err, ErrMismatch) {
					t.Errorf("Verify(altered password) = %v, want ErrMismatch", err)
				}
			}
		})
	}
}

// secretPassword must never appear in an error string.
const secretPassword = "s3cret-Passw0rd!"

// checkFormatError checks that err is a *FormatError for scheme that leaks
// neither encoded nor secretPassword.
func checkFormatError(t *testing.T, err error, encoded, scheme string) {
	t.Helper()
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("error = %v (%T), want *FormatError", err, err)
	}
	if errors.Is(err, ErrMismatch) {
		t.Errorf("error %v matches ErrMismatch", err)
	}
	if diff := cmp.Diff(scheme, fe.Scheme); diff != "" {
		t.Errorf("FormatError.Scheme mismatch (-want +got):\n%s", diff)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "saslkit/hash: malformed ") {
		t.Errorf("error %q lacks the package prefix", msg)
	}
	// Short encoded strings such as "" or "$" trivially occur in any
	// message; longer ones must not.
	if len(encoded) >= 8 && strings.Contains(msg, encoded) {
		t.Errorf("error %q contains the encoded string", msg)
	}
	if strings.Contains(msg, secretPassword) {
		t.Errorf("error %q contains the password", msg)
	}
}

func TestVerifyBad(t *testing.T) {
	for _, v := range badVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			checkFormatError(t, Verify(v.Encoded, secretPassword), v.Encoded, v.Scheme)
			got, err := Scheme(v.Encoded)
			checkFormatError(t, err, v.Encoded, v.Scheme)
			if got != "" {
				t.Errorf("Scheme returned %q with an error", got)
			}
		})
	}
}

// pysaslVectors are the PBKDF2 vectors of the brief: password "password",
// 1000 rounds, salt bzstsT0hfnnXDUPTJqbkhQ==.
var pysaslVectors = []struct {
	digest, encoded string
}{
	{"sha1", "$pbkdf2$1000$bzstsT0hfnnXDUPTJqbkhQ==$ZreCYDHwQD8P81LbstmBx15gBgo="},
	{"sha256", "$pbkdf2-sha256$1000$bzstsT0hfnnXDUPTJqbkhQ==$dWvL4bTpWfPobA2eti+kCjUsF4sfwwiW58SE10p4Vh0="},
	{"sha512", "$pbkdf2-sha512$1000$bzstsT0hfnnXDUPTJqbkhQ==$CTOIJXzOcorIOzxrRZVKxe3yMrllU7+vbPpSeT7SQWGX6S4tkOZq5s/A6LSsDOkE6ExBXXRh5Lv5I18B/cQpkQ=="},
}

const pysaslSalt = "bzstsT0hfnnXDUPTJqbkhQ=="

func mustB64(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestPBKDF2HashVectors(t *testing.T) {
	salt := mustB64(t, pysaslSalt)
	for _, v := range pysaslVectors {
		t.Run(v.digest, func(t *testing.T) {
			h := PBKDF2{Digest: v.digest, Rounds: 1000, Rand: bytes.NewReader(salt)}
			got, err := h.Hash("password")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(v.encoded, got); diff != "" {
				t.Errorf("Hash mismatch (-want +got):\n%s", diff)
			}
			if err := Verify(v.encoded, "password"); err != nil {
				t.Errorf("Verify(password) = %v", err)
			}
			if err := Verify(v.encoded, "wrong"); !errors.Is(err, ErrMismatch) {
				t.Errorf("Verify(wrong) = %v, want ErrMismatch", err)
			}
		})
	}
	t.Run("default-digest-is-sha256", func(t *testing.T) {
		got, err := PBKDF2{Rounds: 1000, Rand: bytes.NewReader(salt)}.Hash("password")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(pysaslVectors[1].encoded, got); diff != "" {
			t.Errorf("Hash mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestPBKDF2Mutations(t *testing.T) {
	for _, v := range pysaslVectors {
		mutations := map[string]string{
			"prefix-x":          "x" + v.encoded,
			"prefix-space":      " " + v.encoded,
			"suffix-x":          v.encoded + "x",
			"no-pbkdf2-prefix":  strings.Replace(v.encoded, "pbkdf2-", "", 1),
			"ident-only-hash":   strings.Replace(v.encoded, "$pbkdf2$", "$sha1$", 1),
			"upper-case-ident":  strings.Replace(v.encoded, "pbkdf2", "PBKDF2", 1),
			"no-leading-dollar": v.encoded[1:],
		}
		for name, enc := range mutations {
			if enc == v.encoded {
				continue
			}
			t.Run(v.digest+"/"+name, func(t *testing.T) {
				err := Verify(enc, "password")
				var fe *FormatError
				if !errors.As(err, &fe) {
					t.Fatalf("Verify = %v, want *FormatError", err)
				}
				if strings.Contains(err.Error(), enc) {
					t.Errorf("error %q contains the encoded string", err)
				}
			})
		}
	}
}

// fastHashers are Hashers with costs small enough for tests.
func fastHashers() map[string]Hasher {
	return map[string]Hasher{
		"pbkdf2-sha1":      PBKDF2{Digest: "sha1", Rounds: 1000},
		"pbkdf2-sha256":    PBKDF2{Rounds: 1000},
		"pbkdf2-sha512":    PBKDF2{Digest: "sha512", Rounds: 1000, SaltLen: 32},
		"bcrypt":           Bcrypt{Cost: 4},
		"argon2id":         Argon2id{Time: 1, Memory: 64, Threads: 1},
		"argon2id-threads": Argon2id{Time: 1, Memory: 64, Threads: 4, KeyLen: 16, SaltLen: 8},
		"scrypt":           Scrypt{N: 16},
		"scrypt-r-p":       Scrypt{N: 16, R: 2, P: 3, KeyLen: 64, SaltLen: 24},
		"plain":            Cleartext{},
	}
}

func TestRoundTrip(t *testing.T) {
	passwords := map[string]string{
		"ascii": "password",
		"utf8":  "pässwörd",
		"empty": "",
		"nul":   "a\x00b",
		"72":    strings.Repeat("x", 72),
	}
	for hname, h := range fastHashers() {
		for pname, pw := range passwords {
			t.Run(hname+"/"+pname, func(t *testing.T) {
				enc, err := h.Hash(pw)
				if err != nil {
					t.Fatalf("Hash: %v", err)
				}
				wantScheme := strings.TrimSuffix(strings.TrimSuffix(hname, "-threads"), "-r-p")
				got, err := Scheme(enc)
				if err != nil {
					t.Fatalf("Scheme: %v", err)
				}
				if diff := cmp.Diff(wantScheme, got); diff != "" {
					t.Errorf("Scheme mismatch (-want +got):\n%s", diff)
				}
				if err := Verify(enc, pw); err != nil {
					t.Errorf("Verify(password) = %v", err)
				}
				if err := Verify(enc, pw+"x"); !errors.Is(err, ErrMismatch) {
					t.Errorf("Verify(password+x) = %v, want ErrMismatch", err)
				}
				if err := Verify(enc, wrongPassword); !errors.Is(err, ErrMismatch) {
					t.Errorf("Verify(wrong) = %v, want ErrMismatch", err)
				}
				if _, ok := h.(Cleartext); !ok {
					enc2, err := h.Hash(pw)
					if err != nil {
						t.Fatal(err)
					}
					if enc == enc2 {
						t.Errorf("two hashes of the same password are equal: salt not random")
					}
				}
			})
		}
	}
}

// TestHashFormats checks the exact encoding written by each Hasher, with an
// injected salt, against vectors produced by independent implementations.
func TestHashFormats(t *testing.T) {
	tests := []struct {
		name string
		h    Hasher
		pw   string
		want string
	}{
		{
			// argon2 reference CLI: argon2 somesaltsomesalt -id -t 1 -k 64 -p 1 -l 32
			name: "argon2id",
			h:    Argon2id{Time: 1, Memory: 64, Threads: 1, Rand: strings.NewReader("somesaltsomesalt")},
			pw:   "password",
			want: "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$55PWTvddWPUD1GMbKxSff4ASfF85k9ibHJt4HlHQtBM",
		},
		{
			// argon2 reference CLI: -id -t 3 -k 96 -p 3 -l 64
			name: "argon2id-p3",
			h:    Argon2id{Time: 3, Memory: 96, Threads: 3, KeyLen: 64, Rand: strings.NewReader("0123456789abcdef")},
			pw:   "U*U",
			want: "$argon2id$v=19$m=96,t=3,p=3$MDEyMzQ1Njc4OWFiY2RlZg$hXUJTHnUP+wtvca4NEnzngCWpo2unejd5c/XjXEcSx3NLaOsRAZ2YIYKaferfhwe0ZmaWX0S+MVpztYwykp7Nw",
		},
		{
			// passlib 1.7.4 scrypt
			name: "scrypt",
			h:    Scrypt{N: 16, Rand: strings.NewReader("saltsaltsaltsalt")},
			pw:   "password",
			want: "$scrypt$ln=4,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$5f/Vi+XRWGUNGScbsma6KJ4zLFIke/NJsrvr7lQLAyA",
		},
		{
			// RFC 7914 section 12
			name: "scrypt-rfc7914",
			h:    Scrypt{N: 1024, R: 8, P: 16, KeyLen: 64, SaltLen: 4, Rand: strings.NewReader("NaCl")},
			pw:   "password",
			want: "$scrypt$ln=10,r=8,p=16$TmFDbA$/bq+HJ00cgB4VucZDQHp/nxq18vII3gw53N2Y0s3MWIurzDZLiKjiG/xCSedmDDaxyevuUqD7m2DYMvfoswGQA",
		},
		{
			// passlib 1.7.4 pbkdf2_sha256, written in padded base64
			name: "pbkdf2-sha256-passlib-salt",
			h:    PBKDF2{Rounds: 6400, Rand: bytes.NewReader(mustAB64(t, "0ZrzXitFSGltTQnBWOsdAw"))},
			pw:   "password",
			want: "$pbkdf2-sha256$6400$0ZrzXitFSGltTQnBWOsdAw==$Y11AchqV4b0sUisdZd0Xr97KWoymNE0LNNrnEgY4H9M=",
		},
		{
			name: "plain",
			h:    Cleartext{},
			pw:   "pässwörd",
			want: "{PLAIN}pässwörd",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.h.Hash(tt.pw)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Hash mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func mustAB64(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := base64.RawStdEncoding.DecodeString(strings.ReplaceAll(s, ".", "+"))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestCleartext(t *testing.T) {
	tests := []struct {
		name, encoded, password string
		want                    error
	}{
		{"utf8-match", "{PLAIN}pässwörd", "pässwörd", nil},
		{"utf8-mismatch", "{PLAIN}pässwörd", "passwort", ErrMismatch},
		{"nfd-is-different", "{PLAIN}pässwörd", "pa\u0308sswo\u0308rd", ErrMismatch},
		{"prefix-of-stored", "{PLAIN}password", "pass", ErrMismatch},
		{"cleartext-prefix", "{CLEARTEXT}pässwörd", "pässwörd", nil},
		{"invalid-utf8", "{PLAIN}\xff\xfe", "\xff\xfe", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.encoded, tt.password)
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

// TestHashDefaults checks the documented defaults of the zero values
// without paying for them (which takes seconds under -race), except for
// Default itself.
func TestHashDefaults(t *testing.T) {
	t.Run("PBKDF2", func(t *testing.T) {
		for digest, want := range map[string]PBKDF2{
			"":       {Digest: "sha256", Rounds: 600_000, SaltLen: 16},
			"sha1":   {Digest: "sha1", Rounds: 1_300_000, SaltLen: 16},
			"sha256": {Digest: "sha256", Rounds: 600_000, SaltLen: 16},
			"sha512": {Digest: "sha512", Rounds: 210_000, SaltLen: 16},
		} {
			got, err := PBKDF2{Digest: digest}.withDefaults()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("PBKDF2{Digest: %q} defaults mismatch (-want +got):\n%s", digest, diff)
			}
		}
	})
	t.Run("Bcrypt", func(t *testing.T) {
		got, err := Bcrypt{}.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(Bcrypt{Cost: bcrypt.DefaultCost}, got); diff != "" {
			t.Errorf("defaults mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("Argon2id", func(t *testing.T) {
		got, err := Argon2id{}.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		want := Argon2id{Time: 3, Memory: 65536, Threads: 4, KeyLen: 32, SaltLen: 16}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("defaults mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("Scrypt", func(t *testing.T) {
		got, err := Scrypt{}.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		want := Scrypt{N: 32768, R: 8, P: 1, KeyLen: 32, SaltLen: 16}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("defaults mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("Default", func(t *testing.T) {
		if testing.Short() {
			t.Skip("64 MiB Argon2id")
		}
		enc, err := Default.Hash("password")
		if err != nil {
			t.Fatal(err)
		}
		if want := "$argon2id$v=19$m=65536,t=3,p=4$"; !strings.HasPrefix(enc, want) {
			t.Errorf("Default.Hash = %q, want prefix %q", enc, want)
		}
		p, err := parse(enc)
		if err != nil {
			t.Fatal(err)
		}
		a := p.(*argon2Hash)
		if len(a.salt) != 16 || len(a.tag) != 32 {
			t.Errorf("salt %d, tag %d bytes; want 16 and 32", len(a.salt), len(a.tag))
		}
		if err := Verify(enc, "password"); err != nil {
			t.Errorf("Verify = %v", err)
		}
	})
}

func TestHashErrors(t *testing.T) {
	tests := []struct {
		name string
		h    Hasher
	}{
		{"pbkdf2-md5", PBKDF2{Digest: "md5"}},
		{"pbkdf2-rounds-negative", PBKDF2{Rounds: -1}},
		{"pbkdf2-rounds-above-max", PBKDF2{Rounds: MaxPBKDF2Rounds + 1}},
		{"pbkdf2-salt-negative", PBKDF2{Rounds: 1, SaltLen: -1}},
		{"pbkdf2-salt-above-max", PBKDF2{Rounds: 1, SaltLen: MaxSaltLen + 1}},
		{"pbkdf2-short-rand", PBKDF2{Rounds: 1, Rand: bytes.NewReader(make([]byte, 15))}},
		{"bcrypt-cost-3", Bcrypt{Cost: 3}},
		{"bcrypt-cost-negative", Bcrypt{Cost: -1}},
		{"bcrypt-cost-above-max", Bcrypt{Cost: MaxBcryptCost + 1}},
		{"argon2id-memory-above-max", Argon2id{Time: 1, Memory: MaxArgon2Memory + 1}},
		{"argon2id-memory-below-8p", Argon2id{Time: 1, Memory: 31, Threads: 4}},
		{"argon2id-time-above-max", Argon2id{Time: MaxArgon2Time + 1, Memory: 64}},
		{"argon2id-keylen-3", Argon2id{Time: 1, Memory: 64, KeyLen: 3}},
		{"argon2id-keylen-above-max", Argon2id{Time: 1, Memory: 64, KeyLen: MaxKeyLen + 1}},
		{"argon2id-salt-7", Argon2id{Time: 1, Memory: 64, SaltLen: 7}},
		{"argon2id-short-rand", Argon2id{Time: 1, Memory: 64, Rand: strings.NewReader("short")}},
		{"scrypt-n-not-power-of-two", Scrypt{N: 1000}},
		{"scrypt-n-1", Scrypt{N: 1}},
		{"scrypt-n-negative", Scrypt{N: -16}},
		{"scrypt-n-above-max", Scrypt{N: 1 << (MaxScryptLogN + 1), R: 1}},
		{"scrypt-memory-above-max", Scrypt{N: 1 << MaxScryptLogN, R: 9}},
		{"scrypt-r-negative", Scrypt{N: 16, R: -1}},
		{"scrypt-p-above-max", Scrypt{N: 16, P: MaxScryptP + 1}},
		{"scrypt-keylen-negative", Scrypt{N: 16, KeyLen: -1}},
		{"scrypt-salt-negative", Scrypt{N: 16, SaltLen: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.h.Hash(secretPassword)
			if err == nil {
				t.Fatalf("Hash = %q, want an error", got)
			}
			if got != "" {
				t.Errorf("Hash returned %q with an error", got)
			}
			if strings.Contains(err.Error(), secretPassword) {
				t.Errorf("error %q contains the password", err)
			}
		})
	}
}

func TestBcryptTooLong(t *testing.T) {
	pw := secretPassword + strings.Repeat("x", 73-len(secretPassword))
	_, err := Bcrypt{Cost: 4}.Hash(pw)
	if !errors.Is(err, bcrypt.ErrPasswordTooLong) {
		t.Fatalf("Hash(73 bytes) = %v, want ErrPasswordTooLong", err)
	}
	if strings.Contains(err.Error(), secretPassword) {
		t.Errorf("error %q contains the password", err)
	}
}

// TestBcryptOver72 uses the crypt_blowfish test vector whose password is
// longer than 72 bytes: its first 72 bytes verify, the whole password does
// not (Verify refuses to truncate).
func TestBcryptOver72(t *testing.T) {
	const (
		enc = "$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui"
		pw  = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored"
	)
	if err := Verify(enc, pw[:72]); err != nil {
		t.Errorf("Verify(first 72 bytes) = %v, want nil", err)
	}
	if err := Verify(enc, pw); !errors.Is(err, ErrMismatch) {
		t.Errorf("Verify(%d bytes) = %v, want ErrMismatch", len(pw), err)
	}
}

func TestBcryptVersions(t *testing.T) {
	enc, err := Bcrypt{Cost: 4}.Hash("password")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"2a", "2b", "2y"} {
		t.Run(v, func(t *testing.T) {
			e := "$" + v + enc[3:]
			if err := Verify(e, "password"); err != nil {
				t.Errorf("Verify = %v", err)
			}
			if err := Verify(e, "wrong"); !errors.Is(err, ErrMismatch) {
				t.Errorf("Verify(wrong) = %v, want ErrMismatch", err)
			}
		})
	}
}

func TestFormatErrorString(t *testing.T) {
	tests := []struct {
		err  *FormatError
		want string
	}{
		{&FormatError{Scheme: "argon2id", Reason: "invalid salt"}, "saslkit/hash: malformed argon2id hash: invalid salt"},
		{&FormatError{Reason: "unknown scheme"}, "saslkit/hash: malformed hash: unknown scheme"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tt.err.Error()); diff != "" {
			t.Errorf("Error() mismatch (-want +got):\n%s", diff)
		}
	}
}

func TestConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for name, h := range fastHashers() {
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				enc, err := h.Hash("password")
				if err != nil {
					t.Errorf("%s: Hash: %v", name, err)
					return
				}
				if err := Verify(enc, "password"); err != nil {
					t.Errorf("%s: Verify: %v", name, err)
				}
			}()
		}
	}
	wg.Wait()
}

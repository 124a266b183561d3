package ldapstore

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/saslkit/saslkit/creds"
	pwhash "github.com/saslkit/saslkit/creds/hash"
)

// vector is a userPassword value and its password.
type vector struct{ password, value string }

// directoryVectors reads testdata/userpassword.txt: values slappasswd made
// (testdata/gen.sh).
func directoryVectors(t testing.TB) []vector {
	t.Helper()
	f, err := os.Open("testdata/userpassword.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []vector
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		pw, v, ok := strings.Cut(line, "\t")
		if !ok || v == "" {
			t.Fatalf("bad line %q", line)
		}
		out = append(out, vector{pw, v})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// The 389 Directory Server {PBKDF2_SHA256} value of "Password123"
// published with thesubtlety/389-ds-password-check.
const vector389 = "{PBKDF2_SHA256}AAAnEGTxXtnR/oox922/jZyjH6fmiIdW4AwIYZE2LfCVL/SUz5GbAHfjRj4NbN2u8ul0/j/dUzJ4gQSawGALGHZV74nOAtPttoZDTsh7BeGCLD/Ps7vRugwDdz9uPARXzF3bD/8qCpumvRGb4pehzfQsk+FnGgTwi0rUeVaN8a7Kbv8ZpRfU2sd+208F/YL42BWAh/2tv0I4vY7ZsrCZcrUJtgKWy5Nr+t78zmPkrZsX/kgfnGdXhr50kN10cmkLQ0/cZOXo9CAkpeZyFu+wQ5vQdUaES2Vd5kBjJYPCkr4b2ocr4ETQi3IGO2GGCoCetmMIETsudRVSxUNBbva+Vgxin5Apu4wIP/0ZyuGK6TuWLqLnNpmK3RkRx0xjqJ4nN2Ok0ul0XYBJcYIBt4UoaVM2uSa/Etw28Uy+zAsUv2AOiRo5"

// otherVectors are values from elsewhere: 389 Directory Server, its
// pwdchan plugin's format (standard base64), Argon2id as package creds/hash
// and OpenLDAP with libsodium write it, and clear ones.
func otherVectors(t *testing.T) []vector {
	t.Helper()
	id, err := pwhash.Argon2id{Time: 1, Memory: 1024, Threads: 1}.Hash("pencil")
	if err != nil {
		t.Fatal(err)
	}
	pb, err := pwhash.PBKDF2{Rounds: 1000}.Hash("pencil") // $pbkdf2-sha256$1000$<std b64>$<std b64>
	if err != nil {
		t.Fatal(err)
	}
	return []vector{
		{"Password123", vector389},
		{"pencil", "{ARGON2}" + id},
		{"pencil", "{PBKDF2-SHA256}" + strings.TrimPrefix(pb, "$pbkdf2-sha256$")},
		{"pencil", "{cleartext}pencil"},
		{"pencil", "pencil"},
		{"pencil", "{ssha}ixjXgKynaSrgw6KKSgFlsbGhht3Y9siH"},
	}
}

func TestVerify(t *testing.T) {
	vectors := append(directoryVectors(t), otherVectors(t)...)
	schemes := map[string]bool{}
	for _, v := range vectors {
		scheme, _, _ := splitScheme(v.value)
		schemes[scheme] = true
		t.Run(v.value[:min(len(v.value), 24)], func(t *testing.T) {
			err := Verify(v.value, v.password)
			if len(v.password) > 72 && strings.HasPrefix(v.value, "{CRYPT}$2") {
				// bcrypt reads 72 octets; package creds/hash refuses
				// longer passwords rather than truncate them.
				if !errors.Is(err, pwhash.ErrMismatch) {
					t.Errorf("a bcrypt password of %d octets: %v, want ErrMismatch", len(v.password), err)
				}
				return
			}
			if err != nil {
				t.Fatalf("right password: %v", err)
			}
			for _, wrong := range []string{"", v.password + "x", strings.ToUpper(v.password), v.password[:len(v.password)-1]} {
				if err := Verify(v.value, wrong); !errors.Is(err, pwhash.ErrMismatch) {
					t.Errorf("wrong password %q: %v, want ErrMismatch", wrong, err)
				}
			}
		})
	}
	want := []string{"", "ARGON2", "CLEARTEXT", "CRYPT", "MD5", "PBKDF2", "PBKDF2-SHA1", "PBKDF2-SHA256", "PBKDF2-SHA512", "PBKDF2_SHA256",
		"SHA", "SHA256", "SHA384", "SHA512", "SMD5", "SSHA", "SSHA256", "SSHA384", "SSHA512"}
	for _, s := range want {
		if !schemes[s] {
			t.Errorf("no vector of scheme %q", s)
		}
	}
}

// TestSchemeErrors holds malformed, unsupported and hostile values to a
// *SchemeError, returned before any work is done.
func TestSchemeErrors(t *testing.T) {
	tests := []struct {
		name, value string
		want        SchemeError
	}{
		{"unknown scheme", "{FOO}bar", SchemeError{"FOO", "scheme not supported"}},
		{"yescrypt", "{CRYPT}$y$j9T$abc$def", SchemeError{"CRYPT", "crypt method not supported"}},
		{"md5-crypt", "{CRYPT}$1$saltsalt$qjXMvbEw8oaL.CzflDugX/", SchemeError{"CRYPT", "crypt method not supported"}},
		{"des crypt", "{CRYPT}abJnggxhB/yWI", SchemeError{"CRYPT", "crypt method not supported"}},
		{"sha-crypt rounds", "{CRYPT}$6$rounds=999999999$salt$" + strings.Repeat("a", 86), SchemeError{"CRYPT", "rounds above the bound"}},
		{"sha-crypt rounds form", "{CRYPT}$6$rounds=+5000$salt$" + strings.Repeat("a", 86), SchemeError{"CRYPT", "malformed rounds"}},
		{"sha-crypt short hash", "{CRYPT}$6$salt$abc", SchemeError{"CRYPT", "malformed salt or hash"}},
		{"sha-crypt long salt", "{CRYPT}$5$saltsaltsaltsaltX$" + strings.Repeat("a", 43), SchemeError{"CRYPT", "malformed salt or hash"}},
		{"bcrypt cost", "{CRYPT}$2y$31$" + strings.Repeat("a", 53), SchemeError{"CRYPT", "malformed bcrypt hash or cost above the bound"}},
		{"ssha base64", "{SSHA}!!!!", SchemeError{"SSHA", "malformed base64"}},
		{"ssha no salt", "{SSHA}0vxRJJChUDZGC1SJQBQ51tpUB/o=", SchemeError{"SSHA", "salt of the wrong length"}},
		{"sha length", "{SHA}AAAA", SchemeError{"SHA", "digest of the wrong length"}},
		{"pbkdf2 iterations", "{PBKDF2-SHA256}33554432$gTuOShXNAmZcpgO3FOlPLw$ssDdqZ9Xh/rxzL4454KE1NnZW5jsjZgX12i1xjs/TeU", SchemeError{"PBKDF2-SHA256", "iteration count above the bound"}},
		{"pbkdf2 zero", "{PBKDF2}0$A1Kd9QnplT5GoxbicBAX8Q$Tjxz.q57EtImLCuUdbbmciKtT7I", SchemeError{"PBKDF2", "malformed iteration count"}},
		{"pbkdf2 key length", "{PBKDF2-SHA512}10000$gTuOShXNAmZcpgO3FOlPLw$ssDdqZ9Xh/rxzL4454KE1NnZW5jsjZgX12i1xjs/TeU", SchemeError{"PBKDF2-SHA512", "malformed derived key"}},
		{"pbkdf2 fields", "{PBKDF2}10000$abc", SchemeError{"PBKDF2", "malformed value"}},
		{"389 length", "{PBKDF2_SHA256}AAAnEGTx", SchemeError{"PBKDF2_SHA256", "malformed value"}},
		{"389 iterations", "{PBKDF2_SHA256}" + strings.Replace(vector389[len("{PBKDF2_SHA256}"):], "AAAn", "/wAA", 1), SchemeError{"PBKDF2_SHA256", "iteration count out of bounds"}},
		{"argon2 memory", "{ARGON2}$argon2id$v=19$m=2097152,t=1,p=1$c2FsdHNhbHQ$dGFndGFndGFn", SchemeError{"ARGON2", "memory out of bounds"}},
		{"argon2 passes", "{ARGON2}$argon2i$v=19$m=4096,t=100000,p=1$c2FsdHNhbHQ$dGFndGFndGFn", SchemeError{"ARGON2", "passes out of bounds"}},
		{"argon2 lanes", "{ARGON2}$argon2i$v=19$m=4096,t=1,p=0$c2FsdHNhbHQ$dGFndGFndGFn", SchemeError{"ARGON2", "parallelism out of bounds"}},
		{"argon2d", "{ARGON2}$argon2d$v=19$m=4096,t=1,p=1$c2FsdHNhbHQ$dGFndGFndGFn", SchemeError{"ARGON2", "only argon2i and argon2id are supported"}},
		{"argon2 version", "{ARGON2}$argon2i$v=16$m=4096,t=1,p=1$c2FsdHNhbHQ$dGFndGFndGFn", SchemeError{"ARGON2", "only version 19 is supported"}},
		{"argon2 order", "{ARGON2}$argon2i$v=19$t=1,m=4096,p=1$c2FsdHNhbHQ$dGFndGFndGFn", SchemeError{"ARGON2", "malformed parameters"}},
		{"argon2 short salt", "{ARGON2}$argon2i$v=19$m=4096,t=1,p=1$c2FsdA$dGFndGFndGFn", SchemeError{"ARGON2", "malformed salt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			err := Verify(tt.value, "pencil")
			var se *SchemeError
			if !errors.As(err, &se) {
				t.Fatalf("Verify: %v, want a *SchemeError", err)
			}
			if diff := cmp.Diff(tt.want, *se); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
			_, data, _ := splitScheme(tt.value)
			if strings.Contains(err.Error(), "pencil") || len(data) >= 16 && strings.Contains(err.Error(), data[len(data)-8:]) {
				t.Errorf("error %q holds the password or the value", err)
			}
			if d := time.Since(start); d > 50*time.Millisecond {
				t.Errorf("refused after %v: work was done first", d)
			}
		})
	}
}

func TestAuthPassword(t *testing.T) {
	k, err := creds.DeriveSCRAMKeys("SHA-256", "pencil", []byte("0123456789abcdef"), 4096, false)
	if err != nil {
		t.Fatal(err)
	}
	v := k.RFC5803()
	spaced := strings.ReplaceAll(v, "$", " $  ")
	lower := "scram-sha-256" + strings.TrimPrefix(v, "SCRAM-SHA-256")
	tests := []struct {
		name, value string
		ours, ok    bool
	}{
		{"RFC 5803", v, true, true},
		{"spaces around $ (RFC 3112)", "  " + spaced + " ", true, true},
		{"lower-case scheme", lower, true, true},
		{"another scheme", "SHA1$c2FsdA==$AAAA", false, true},
		{"truncated", v[:len(v)-10], true, false},
		{"bad iterations", strings.Replace(v, "$4096:", "$04096:", 1), true, false},
		{"unknown hash", strings.Replace(v, "SHA-256", "SHA-384", 1), true, false},
		{"huge", "SCRAM-SHA-256$" + strings.Repeat("1", 5000), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ours, err := parseAuthPassword(tt.value)
			if ours != tt.ours || (err == nil) != tt.ok {
				t.Fatalf("parseAuthPassword = %v, %v; want ours %v, ok %v", ours, err, tt.ours, tt.ok)
			}
			if tt.ok && tt.ours {
				if diff := cmp.Diff(k.Dovecot(), got.Dovecot()); diff != "" {
					t.Errorf("(-want +got)\n%s", diff)
				}
				if !checkSCRAM(got, "pencil") || checkSCRAM(got, "pencil ") || checkSCRAM(got, "") {
					t.Error("checkSCRAM does not tell the password")
				}
			} else if err != nil && !errors.Is(err, creds.ErrBadSCRAMKeys) {
				t.Errorf("error %v, want ErrBadSCRAMKeys", err)
			}
		})
	}
}

// FuzzVerify holds Verify to never panicking on any value, and to matching
// only the right password of the vectors it starts from.
func FuzzVerify(f *testing.F) {
	for _, v := range directoryVectors(f) {
		f.Add(v.value, v.password)
	}
	f.Add(vector389, "Password123")
	f.Fuzz(func(t *testing.T, value, password string) {
		if len(value) > 2048 || len(password) > 256 {
			return
		}
		// Keep each check cheap: skip costly parameters the fuzzer finds.
		if c, err := parseValue(value); err == nil {
			switch c := c.(type) {
			case *argon2Value:
				if c.m > 8192 || c.t > 4 {
					return
				}
			case *pbkdf2Value:
				if c.iter > 20000 {
					return
				}
			case *shaCrypt:
				if c.rounds > 20000 {
					return
				}
			case bcryptValue:
				if !strings.HasPrefix(string(c)[4:], "0") {
					return
				}
			}
		}
		err := Verify(value, password)
		var se *SchemeError
		if err != nil && !errors.Is(err, pwhash.ErrMismatch) && !errors.As(err, &se) {
			t.Fatalf("Verify: %v", err)
		}
	})
}

package hash

import (
	"errors"
	"strings"
	"testing"
)

// Fuzz-only cost thresholds: FuzzVerify skips inputs whose parsed costs
// exceed them so that one Verify call stays well under ~100ms. They are far
// below the package bounds, which Verify itself enforces.
const (
	fuzzMaxPBKDF2Rounds = 20_000
	fuzzMaxBcryptCost   = 6
	fuzzMaxArgon2Work   = 4096    // Memory (KiB) * Time
	fuzzMaxScryptWork   = 1 << 24 // 128*r*N*p bytes processed
)

// fuzzTooSlow reports whether encoded parses to a hash whose cost parameters
// exceed the fuzz-only thresholds above.
func fuzzTooSlow(encoded string) bool {
	p, err := parse(encoded)
	if err != nil {
		return false
	}
	switch p := p.(type) {
	case *pbkdf2Hash:
		return p.rounds > fuzzMaxPBKDF2Rounds
	case *bcryptHash:
		return p.cost > fuzzMaxBcryptCost
	case *argon2Hash:
		return uint64(p.memory)*uint64(p.time) > fuzzMaxArgon2Work
	case *scryptHash:
		return uint64(128*p.r)<<p.ln*uint64(p.p) > fuzzMaxScryptWork
	}
	return false
}

// fuzzHashers are Hashers cheap enough to run on fuzz inputs. Keys are at
// least 16 bytes so that "p+x" cannot match by chance.
var fuzzHashers = []Hasher{
	PBKDF2{Digest: "sha1", Rounds: 1},
	PBKDF2{Digest: "sha256", Rounds: 2},
	PBKDF2{Digest: "sha512", Rounds: 1, SaltLen: 1},
	Bcrypt{Cost: 4},
	Argon2id{Time: 1, Memory: 8, Threads: 1, KeyLen: 16, SaltLen: 8},
	Scrypt{N: 2, R: 1, P: 1, KeyLen: 16, SaltLen: 1},
	Cleartext{},
}

// knownSchemes are the only values FormatError.Scheme may take.
var knownSchemes = map[string]bool{
	"": true, "pbkdf2-sha1": true, "pbkdf2-sha256": true, "pbkdf2-sha512": true,
	"bcrypt": true, "argon2id": true, "argon2i": true, "argon2d": true, "scrypt": true,
}

func init() {
	for _, s := range unsupportedBraced {
		knownSchemes[s] = true
	}
}

func FuzzVerify(f *testing.F) {
	for _, v := range goodVectors(f) {
		if !fuzzTooSlow(v.Encoded) {
			f.Add(v.Encoded, v.Password)
			f.Add(v.Encoded, wrongPassword)
		}
	}
	for _, v := range badVectors(f) {
		f.Add(v.Encoded, "password")
	}
	f.Add("$2a$04$", strings.Repeat("x", 73))
	f.Fuzz(func(t *testing.T, encoded, password string) {
		if fuzzTooSlow(encoded) {
			t.Skip()
		}
		err := Verify(encoded, password)
		_, serr := Scheme(encoded)
		var fe *FormatError
		switch {
		case err == nil, errors.Is(err, ErrMismatch):
			if serr != nil {
				t.Fatalf("Verify = %v but Scheme = %v", err, serr)
			}
		case errors.As(err, &fe):
			if serr == nil {
				t.Fatalf("Verify = %v but Scheme = nil", err)
			}
			if !knownSchemes[fe.Scheme] {
				t.Fatalf("FormatError.Scheme %q is not a known scheme name", fe.Scheme)
			}
			// The fixed parts of error messages contain none of these
			// characters, so an encoded string with one of them can
			// only appear in a message by leaking.
			if strings.ContainsAny(encoded, "${=,") && strings.Contains(err.Error(), encoded) {
				t.Fatalf("error %q contains the encoded string", err)
			}
			if strings.ContainsAny(password, "${=,") && strings.Contains(err.Error(), password) {
				t.Fatalf("error %q contains the password", err)
			}
		default:
			t.Fatalf("Verify = %v (%T), want nil, ErrMismatch or *FormatError", err, err)
		}

		// One Hasher per input, chosen from the input, keeps the
		// execution rate up while covering all of them over a run.
		{
			h := fuzzHashers[(len(encoded)+len(password))%len(fuzzHashers)]
			if _, ok := h.(Bcrypt); ok && len(password) > 72 {
				return
			}
			enc, err := h.Hash(password)
			if err != nil {
				t.Fatalf("%T.Hash: %v", h, err)
			}
			if err := Verify(enc, password); err != nil {
				t.Fatalf("%T: Verify(Hash(p), p) = %v", h, err)
			}
			if err := Verify(enc, password+"x"); !errors.Is(err, ErrMismatch) {
				t.Fatalf("%T: Verify(Hash(p), p+x) = %v, want ErrMismatch", h, err)
			}
		}
	})
}

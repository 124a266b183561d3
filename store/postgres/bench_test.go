package postgres

import (
	"errors"
	"testing"
	"time"

	"github.com/saslkit/saslkit/creds"
)

// benchStore returns a store of 10,000 accounts with cheap PBKDF2 hashes,
// and alice, who also has SCRAM-SHA-256 keys.
func benchStore(b *testing.B) *Store {
	b.Helper()
	pw := hashed(b, "pencil", cheapPBKDF2)
	s := newTestStore(b, nil, creds.Account{Name: "alice", Password: pw, SCRAM: []creds.SCRAMKeys{keys(b, "SHA-256", "pencil", 16, 4096)}})
	ctx := testCtx(b, time.Minute)
	_, err := s.Pool().Exec(ctx, `INSERT INTO `+s.schema+`.accounts (name, lookup_name, password)
		SELECT 'user' || i, 'user' || i, $1 FROM generate_series(1, 10000) i`, pw)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `ANALYZE `+s.schema+`.accounts`); err != nil {
		b.Fatal(err)
	}
	if err := s.RefreshProfile(ctx); err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkLookup(b *testing.B) {
	s := benchStore(b)
	ctx := testCtx(b, 10*time.Minute)
	for _, bc := range []struct{ name, user string }{{"known", "alice"}, {"unknown", "mallory"}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Lookup(ctx, bc.user); err != nil && !errors.Is(err, creds.ErrUnknownUser) {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Lookup(ctx, "alice"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkPlainLogin is a whole PLAIN login's password check, through
// the Verifier, against the real server: a lookup and a PBKDF2-SHA-256
// check of 1,000 rounds (or the decoy's, for an unknown user).
func BenchmarkPlainLogin(b *testing.B) {
	s := benchStore(b)
	v := &creds.Verifier{Store: s}
	ctx := testCtx(b, 10*time.Minute)
	for _, bc := range []struct {
		name, user string
		err        error
	}{{"known", "user5000", nil}, {"wrong password", "user5000", creds.ErrBadCredentials}, {"unknown", "mallory", creds.ErrBadCredentials}} {
		password := "pencil"
		if bc.err != nil {
			password = "wrong"
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.CheckPassword(ctx, bc.user, password); !errors.Is(err, bc.err) || (err == nil) != (bc.err == nil) {
					b.Fatal(err)
				}
			}
		})
	}
}

package hash

import (
	"errors"
	"testing"
)

func BenchmarkVerify(b *testing.B) {
	benches := []struct {
		name, encoded, password string
	}{
		{"pbkdf2-sha1-1000", "$pbkdf2$1000$bzstsT0hfnnXDUPTJqbkhQ==$ZreCYDHwQD8P81LbstmBx15gBgo=", "password"},
		{"pbkdf2-sha256-1000", "$pbkdf2-sha256$1000$bzstsT0hfnnXDUPTJqbkhQ==$dWvL4bTpWfPobA2eti+kCjUsF4sfwwiW58SE10p4Vh0=", "password"},
		{"pbkdf2-sha512-1000", "$pbkdf2-sha512$1000$bzstsT0hfnnXDUPTJqbkhQ==$CTOIJXzOcorIOzxrRZVKxe3yMrllU7+vbPpSeT7SQWGX6S4tkOZq5s/A6LSsDOkE6ExBXXRh5Lv5I18B/cQpkQ==", "password"},
		{"bcrypt-cost5", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"},
		{"argon2id-m64-t1-p1", "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$55PWTvddWPUD1GMbKxSff4ASfF85k9ibHJt4HlHQtBM", "password"},
		{"scrypt-ln4-r8-p1", "$scrypt$ln=4,r=8,p=1$c2FsdHNhbHRzYWx0c2FsdA$5f/Vi+XRWGUNGScbsma6KJ4zLFIke/NJsrvr7lQLAyA", "password"},
		{"plain", "{PLAIN}pässwörd", "pässwörd"},
	}
	for _, bb := range benches {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := Verify(bb.encoded, bb.password); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("malformed", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var fe *FormatError
			if err := Verify("$argon2id$v=19$m=4294967295,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAA", "x"); !errors.As(err, &fe) {
				b.Fatal(err)
			}
		}
	})
	// The package's default Hasher, at production cost.
	b.Run("default-argon2id", func(b *testing.B) {
		enc, err := Default.Hash("password")
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := Verify(enc, "password"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

package gs2_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/saslkit/saslkit/mech/gs2"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want gs2.Header
		n    int
	}{
		{"n,,rest", gs2.Header{Flag: 'n'}, 3},
		{"y,,", gs2.Header{Flag: 'y'}, 3},
		{"p=tls-exporter,,", gs2.Header{Flag: 'p', CBName: "tls-exporter"}, 16},
		{"n,a=user,x", gs2.Header{Flag: 'n', Authzid: "user"}, 9},
		{"n,a=a=2Cb=3Dc,", gs2.Header{Flag: 'n', Authzid: "a,b=c"}, 14},
		{"p=tls-unique,a=ü,", gs2.Header{Flag: 'p', CBName: "tls-unique", Authzid: "ü"}, 18},
	}
	for _, tc := range tests {
		h, n, err := gs2.Parse([]byte(tc.in))
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, h); diff != "" || n != tc.n {
			t.Errorf("%q: n=%d (-want +got):\n%s", tc.in, n, diff)
		}
		if got := string(h.Append(nil)); got != tc.in[:n] {
			t.Errorf("%q: Append = %q", tc.in, got)
		}
	}
	for _, bad := range []string{"", "n", "n,", "x,,", "F,n,,", "p=,,", "p=a b,,", "p=tls", "n,a=,", "n,a=b", "n,a=a=2,",
		"n,a=a=2X,", "n,b=c,", "n,a=a\x00b,", "n,a=\xff,", "p=" + strings.Repeat("a", 65) + ",,", "nn,,"} {
		if _, _, err := gs2.Parse([]byte(bad)); !errors.Is(err, gs2.ErrMalformed) {
			t.Errorf("%q: %v, want ErrMalformed", bad, err)
		}
	}
}

func TestNames(t *testing.T) {
	for in, want := range map[string]string{"": "", "user": "user", "a,b": "a=2Cb", "a=b": "a=3Db", "=,": "=3D=2C"} {
		if got := gs2.EncodeName(in); got != want {
			t.Errorf("EncodeName(%q) = %q, want %q", in, got, want)
		}
		if got, err := gs2.DecodeName([]byte(want)); err != nil || got != in {
			t.Errorf("DecodeName(%q) = %q, %v", want, got, err)
		}
	}
	for _, bad := range []string{"a=b", "=", "=2", "=2c", "a,b", "=3d", "\xff", "a\x00"} {
		if _, err := gs2.DecodeName([]byte(bad)); !errors.Is(err, gs2.ErrMalformed) {
			t.Errorf("DecodeName(%q): %v", bad, err)
		}
	}
}

func FuzzDecodeName(f *testing.F) {
	for _, s := range []string{"user", "a=2Cb", "a=3Db", "=", "=2", "a,b", "\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := gs2.DecodeName(b)
		if err != nil {
			if !errors.Is(err, gs2.ErrMalformed) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		// Round trip: encoding the decoded name gives the input back,
		// since escapes are canonical.
		if enc := gs2.EncodeName(s); enc != string(b) {
			t.Fatalf("EncodeName(DecodeName(%q)) = %q", b, enc)
		}
	})
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"n,,", "y,,", "p=tls-exporter,,", "n,a=user,", "n,a=a=2Cb,", "F,n,,", "p=,,"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := gs2.Parse(b)
		if err != nil {
			if !errors.Is(err, gs2.ErrMalformed) || n != 0 {
				t.Fatalf("error %v with n=%d", err, n)
			}
			return
		}
		if n > len(b) {
			t.Fatalf("n=%d past the input", n)
		}
		if got := string(h.Append(nil)); got != string(b[:n]) {
			t.Fatalf("Append = %q, want %q", got, b[:n])
		}
	})
}

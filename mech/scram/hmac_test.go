package scram

import (
	"bytes"
	"crypto/hmac"
	"encoding/hex"
	"strings"
	"testing"
)

// RFC 4231 section 4: HMAC-SHA-256 and HMAC-SHA-512 test cases 1, 2, 4, 6
// and 7 (6 and 7 have keys longer than the block size).
var rfc4231 = []struct{ key, data, sha256, sha512 string }{
	{"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
		"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
		"87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"},
	{"4a656665", "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
		"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
		"164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
	{"0102030405060708090a0b0c0d0e0f10111213141516171819", "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
		"82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
		"b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3dba91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd"},
	{strings.Repeat("aa", 131),
		"54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a65204b6579202d2048617368204b6579204669727374",
		"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
		"80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f3526b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"},
}

func TestHMAC(t *testing.T) {
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for i, v := range rfc4231 {
		for _, c := range []struct {
			h    Hash
			want string
		}{{SHA256, v.sha256}, {SHA512, v.sha512}} {
			s := c.h.getScratch()
			got := s.mac(nil, unhex(v.key), unhex(v.data))
			s.put()
			if hex.EncodeToString(got) != c.want {
				t.Errorf("case %d %s: %x", i, c.h.Name(), got)
			}
		}
	}
	// Every hash against crypto/hmac, including SHA-1 and SHA3-512, with
	// keys around the block sizes.
	for _, h := range Hashes {
		for _, n := range []int{0, 1, 20, 32, 63, 64, 65, 71, 72, 73, 128, 129, 200} {
			key := bytes.Repeat([]byte{byte(n)}, n)
			msg := []byte("saslkit")
			if !bytes.Equal(macScratch(h, key, msg), macStd(h, key, msg)) {
				t.Errorf("%s key %d: differs from crypto/hmac", h.Name(), n)
			}
		}
	}
}

func macScratch(h Hash, key, msg []byte) []byte {
	s := h.getScratch()
	defer s.put()
	return s.mac(nil, key, msg)
}

func macStd(h Hash, key, msg []byte) []byte {
	m := hmac.New(h.new, key)
	m.Write(msg)
	return m.Sum(nil)
}

// FuzzHMAC checks the pooled HMAC against crypto/hmac, for every hash, on
// arbitrary keys and messages, reusing scratch between calls.
func FuzzHMAC(f *testing.F) {
	f.Add([]byte("key"), []byte("message"))
	f.Add(bytes.Repeat([]byte{0xaa}, 131), []byte{})
	f.Fuzz(func(t *testing.T, key, msg []byte) {
		for _, h := range Hashes {
			if !bytes.Equal(macScratch(h, key, msg), macStd(h, key, msg)) {
				t.Fatalf("%s: differs from crypto/hmac", h.Name())
			}
		}
	})
}

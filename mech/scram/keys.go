package scram

import (
	"crypto/hmac"
	"crypto/pbkdf2"
)

func saltedPassword(h Hash, password string, salt []byte, iterations int) []byte {
	k, err := pbkdf2.Key(h.new, password, salt, iterations, h.size)
	if err != nil {
		// Only FIPS-mode restrictions make pbkdf2 fail; SCRAM cannot run.
		panic("saslkit/scram: pbkdf2: " + err.Error())
	}
	return k
}

func hmacSum(h Hash, key []byte, msg string) []byte {
	m := hmac.New(h.new, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func hashSum(h Hash, b []byte) []byte {
	d := h.new()
	d.Write(b)
	return d.Sum(nil)
}

package hash_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/saslkit/saslkit/creds/hash"
)

func ExampleVerify() {
	const stored = "$pbkdf2-sha256$1000$bzstsT0hfnnXDUPTJqbkhQ==$dWvL4bTpWfPobA2eti+kCjUsF4sfwwiW58SE10p4Vh0="

	fmt.Println(hash.Verify(stored, "password"))
	fmt.Println(errors.Is(hash.Verify(stored, "wrong"), hash.ErrMismatch))

	var fe *hash.FormatError
	err := hash.Verify("$pbkdf2-sha256$0$bzstsT0hfnnXDUPTJqbkhQ==$", "password")
	fmt.Println(errors.As(err, &fe), err)
	// Output:
	// <nil>
	// true
	// true saslkit/hash: malformed pbkdf2-sha256 hash: invalid or out-of-range rounds
}

func ExamplePBKDF2() {
	h := hash.PBKDF2{
		Digest: "sha512",
		Rounds: 1000,
		// A fixed salt, for a reproducible example only. Leave Rand nil
		// to use crypto/rand.
		Rand: strings.NewReader("saltsaltsaltsalt"),
	}
	encoded, err := h.Hash("password")
	if err != nil {
		panic(err)
	}
	fmt.Println(encoded)
	fmt.Println(hash.Verify(encoded, "password"))
	// Output:
	// $pbkdf2-sha512$1000$c2FsdHNhbHRzYWx0c2FsdA==$715rqIr5dXOVPpBhqqsugl037zT5bWJTWYmZtIcK8hBnisKpwfY7kokvwjDrNHqHhF50Pb7MD6HvkJwiDQw4ww==
	// <nil>
}

func ExampleArgon2id() {
	h := hash.Argon2id{Time: 1, Memory: 64, Threads: 1, Rand: strings.NewReader("somesaltsomesalt")}
	encoded, err := h.Hash("password")
	if err != nil {
		panic(err)
	}
	fmt.Println(encoded)
	// Output:
	// $argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$55PWTvddWPUD1GMbKxSff4ASfF85k9ibHJt4HlHQtBM
}

func ExampleScheme() {
	for _, s := range []string{
		"$pbkdf2$1000$bzstsT0hfnnXDUPTJqbkhQ==$ZreCYDHwQD8P81LbstmBx15gBgo=",
		"{BLF-CRYPT}$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
		"{PLAIN}secret",
		"{SCRAM-SHA-256}4096,c2FsdA==,a2V5,a2V5",
	} {
		fmt.Println(hash.Scheme(s))
	}
	// Output:
	// pbkdf2-sha1 <nil>
	// bcrypt <nil>
	// plain <nil>
	//  saslkit/hash: malformed scram-sha-256 hash: unsupported scheme
}

func ExampleCleartext() {
	encoded, _ := hash.Cleartext{}.Hash("pässwörd")
	fmt.Println(encoded)
	fmt.Println(hash.Verify(encoded, "pässwörd"))
	// Output:
	// {PLAIN}pässwörd
	// <nil>
}

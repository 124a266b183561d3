package scram

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
)

// KeyCache keeps a client's derived ClientKey and ServerKey, keyed by a
// hash of (hash function, password, salt, iteration count), so that
// re-authenticating with the same server costs no PBKDF2. It holds at most
// Max entries. A nil *KeyCache caches nothing. It is safe for concurrent
// use.
type KeyCache struct {
	// Max is the most entries kept; zero means 64. When full, the oldest
	// entry is dropped.
	Max int

	mu    sync.Mutex // guards m and order
	m     map[[32]byte]cached
	order [][32]byte
}

// cached are a client's derived keys.
type cached struct{ clientKey, storedKey, serverKey []byte }

func (c *KeyCache) keys(h Hash, password string, salt []byte, iter int) cached {
	if c == nil {
		return deriveClient(h, password, salt, iter)
	}
	k := cacheKey(h, password, salt, iter)
	c.mu.Lock()
	e, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return e
	}
	e = deriveClient(h, password, salt, iter)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[[32]byte]cached)
	}
	if _, ok := c.m[k]; !ok {
		max := c.Max
		if max <= 0 {
			max = 64
		}
		for len(c.order) >= max {
			delete(c.m, c.order[0])
			c.order = c.order[1:]
		}
		c.order = append(c.order, k)
	}
	c.m[k] = e
	return e
}

// Len returns the number of cached entries.
func (c *KeyCache) Len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

func deriveClient(h Hash, password string, salt []byte, iter int) cached {
	salted := saltedPassword(h, password, salt, iter)
	client := hmacSum(h, salted, "Client Key")
	return cached{clientKey: client, storedKey: hashSum(h, client), serverKey: hmacSum(h, salted, "Server Key")}
}

func cacheKey(h Hash, password string, salt []byte, iter int) [32]byte {
	d := sha256.New()
	var n [8]byte
	for _, part := range [][]byte{[]byte(h.name), []byte(password), salt} {
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		d.Write(n[:])
		d.Write(part)
	}
	binary.BigEndian.PutUint64(n[:], uint64(iter))
	d.Write(n[:])
	var k [32]byte
	d.Sum(k[:0])
	return k
}

package scram

import (
	"bytes"
	"crypto/subtle"
	"hash"
)

// scratch is the per-exchange working memory of SCRAM's HMACs (RFC 2104),
// pooled per hash function (Hash.scratch) so that an exchange allocates
// none of it.
//
// crypto/hmac allocates two hash states and its pads on every New, and a
// keyed HMAC cannot be re-keyed, while SCRAM keys a new HMAC with each user's
// StoredKey and ServerKey on every exchange. scratch computes the same
// function, H((K ^ opad) || H((K ^ ipad) || m)), over the standard library's
// hash states, reset and reused. TestHMAC checks it against crypto/hmac on
// the RFC 4231 vectors and FuzzHMAC on arbitrary keys and messages.
type scratch struct {
	h     Hash
	inner hash.Hash
	outer hash.Hash
	pad   []byte // BlockSize
	key   []byte // a long key, hashed
	ihash []byte // the inner digest
	a, b  []byte // results, Size each
	buf   []byte // AuthMessage and other message scratch
}

// newScratch returns working memory for h's HMACs.
func newScratch(h Hash) *scratch {
	in := h.new()
	return &scratch{
		h:     h,
		inner: in,
		outer: h.new(),
		pad:   make([]byte, in.BlockSize()),
		key:   make([]byte, 0, h.size),
		ihash: make([]byte, 0, h.size),
		a:     make([]byte, 0, h.size),
		b:     make([]byte, 0, h.size+3), // room for base64 decoding
		buf:   make([]byte, 0, 256),
	}
}

// getScratch takes working memory from h's pool: no map lookup, as the
// pool is h's own.
func (h Hash) getScratch() *scratch { return h.scratch.Get().(*scratch) }

func (s *scratch) put() {
	if cap(s.buf) > 4096 {
		s.buf = make([]byte, 0, 256) // do not keep a hostile message's worth
	}
	s.h.scratch.Put(s)
}

// mac appends HMAC(key, msg) to dst.
func (s *scratch) mac(dst, key, msg []byte) []byte {
	if len(key) > len(s.pad) {
		s.inner.Reset()
		s.inner.Write(key)
		key = s.inner.Sum(s.key[:0])
	}
	s.setPad(key, ipad)
	s.inner.Reset()
	s.inner.Write(s.pad)
	s.inner.Write(msg)
	ih := s.inner.Sum(s.ihash[:0])
	s.setPad(key, opad)
	s.outer.Reset()
	s.outer.Write(s.pad)
	s.outer.Write(ih)
	return s.outer.Sum(dst)
}

// ipad and opad are RFC 2104's pad bytes, a block's worth for every hash
// here (SHA-512's block is the longest, 128 octets).
var (
	ipad = bytes.Repeat([]byte{0x36}, 128)
	opad = bytes.Repeat([]byte{0x5c}, 128)
)

// setPad sets s.pad to key XOR pad, key zero-extended to the block size.
func (s *scratch) setPad(key, pad []byte) {
	copy(s.pad, pad)
	subtle.XORBytes(s.pad, s.pad[:len(key)], key)
}

// sum appends H(msg) to dst.
func (s *scratch) sum(dst, msg []byte) []byte {
	s.inner.Reset()
	s.inner.Write(msg)
	return s.inner.Sum(dst)
}

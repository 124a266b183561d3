package gosasl_test

import (
	"bytes"
	"encoding/base64"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// recorder is a net.Conn that keeps a copy of every byte the client wrote,
// to check the client's side of the wire byte for byte. Around a TLS
// connection it sees the plaintext.
type recorder struct {
	net.Conn
	mu   sync.Mutex // guards sent
	sent bytes.Buffer
}

func (r *recorder) Write(p []byte) (int, error) {
	n, err := r.Conn.Write(p)
	r.mu.Lock()
	r.sent.Write(p[:n])
	r.mu.Unlock()
	return n, err
}

// lines returns the lines the client sent, without their CRLF, starting
// with the first that matches from.
func (r *recorder) lines(from *regexp.Regexp) []string {
	r.mu.Lock()
	all := strings.Split(strings.TrimSuffix(r.sent.String(), "\r\n"), "\r\n")
	r.mu.Unlock()
	for i, l := range all {
		if from.MatchString(l) {
			return all[i:]
		}
	}
	return nil
}

// matchLines reports whether each line matches the pattern at its index,
// and there are as many lines as patterns.
func matchLines(patterns []string, lines []string) bool {
	if len(patterns) != len(lines) {
		return false
	}
	for i, p := range patterns {
		if !regexp.MustCompile(`^(?:` + p + `)$`).MatchString(lines[i]) {
			return false
		}
	}
	return true
}

// redact returns lines with every base64 word that decodes to something
// holding one of secrets replaced, so that a failing test logs no secret.
func redact(lines []string, secrets ...string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		words := strings.Fields(l)
		for j, w := range words {
			b, err := base64.StdEncoding.DecodeString(w)
			if err != nil {
				continue
			}
			for _, s := range secrets {
				if bytes.Contains(b, []byte(s)) {
					words[j] = "<redacted>"
				}
			}
		}
		out[i] = strings.Join(words, " ")
	}
	return out
}

// b64 is base64 with standard padding, as IMAP and SMTP carry SASL.
func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// quote is regexp.QuoteMeta, short.
func quote(s string) string { return regexp.QuoteMeta(s) }

// logLines logs the client's lines, redacted.
func logLines(t *testing.T, lines []string) {
	t.Helper()
	t.Logf("client sent:\n%s", strings.Join(redact(lines, password, token), "\n"))
}

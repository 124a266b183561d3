package imapbench

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// IMAPServerConfig configures [StartIMAPServer].
type IMAPServerConfig struct {
	// Bin is the examples/imapserver binary ([BuildIMAPServer]).
	Bin string
	// Dir is a directory for the log.
	Dir string
	// Users is the passwd-file ([WriteUsers]); Cert and Key the
	// certificate and key ([WriteCertificate]).
	Users, Cert, Key string
	// Conns is the number of concurrent clients to expect.
	Conns int
	// Mechs is the -mechs list; empty means "SCRAM-SHA-256,PLAIN". The
	// server refuses at start a SCRAM mechanism its accounts hold no keys
	// for: a file of bcrypt or Argon2id hashes needs "PLAIN".
	Mechs string
}

// IMAPServerArgs returns the flags StartIMAPServer runs the server with,
// listening on addr and tlsAddr: cfg.Mechs, PLAIN allowed
// without TLS (-insecure-auth), no failure delay and no failed-login
// limiter (as Dovecot's auth_failure_delay = 0 and its disabled auth
// penalty), and room for every client.
func IMAPServerArgs(cfg *IMAPServerConfig, addr, tlsAddr string) []string {
	mechs := cfg.Mechs
	if mechs == "" {
		mechs = "SCRAM-SHA-256,PLAIN"
	}
	return []string{
		"-listen", addr, "-listen-tls", tlsAddr,
		"-cert", cfg.Cert, "-key", cfg.Key,
		"-users", cfg.Users,
		"-mechs", mechs, "-insecure-auth",
		"-fail-delay", "0", "-limit", "off",
		"-max-conns", strconv.Itoa(max(4*cfg.Conns, 1000)),
	}
}

// StartIMAPServer starts examples/imapserver on two free loopback ports,
// plain and implicit TLS, with [IMAPServerArgs]. Its output goes to
// Dir/imapserver.log.
func StartIMAPServer(ctx context.Context, cfg *IMAPServerConfig) (*Server, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	tlsAddr := "127.0.0.1:" + strconv.Itoa(ports[1])
	logPath := filepath.Join(cfg.Dir, "imapserver.log")
	cmd := exec.Command(cfg.Bin, IMAPServerArgs(cfg, addr, tlsAddr)...)
	p, err := startProcess("imapserver", cmd, logPath)
	if err != nil {
		return nil, err
	}
	if err := waitListening(ctx, p, addr, tlsAddr); err != nil {
		p.Stop()
		return nil, withLog(err, logPath)
	}
	return &Server{Name: "saslkit", Version: "examples/imapserver", Addr: addr, TLSAddr: tlsAddr, Dir: cfg.Dir, Log: logPath, Proc: p}, nil
}

// SourceDir returns the directory of the saslkit module as the go command
// resolves it from dir (this module replaces it with ../..).
func SourceDir(ctx context.Context, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/saslkit/saslkit")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("imapbench: finding the saslkit module: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// BuildIMAPServer builds examples/imapserver from the saslkit module in
// src into out, as "go build -o out ./examples/imapserver".
func BuildIMAPServer(ctx context.Context, src, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./examples/imapserver")
	cmd.Dir = src
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("imapbench: go build ./examples/imapserver in %s: %w\n%s", src, err, stderr.Bytes())
	}
	return nil
}

// withLog appends the tail of a server's log to err.
func withLog(err error, path string) error {
	b, rerr := os.ReadFile(path)
	if rerr != nil {
		return err
	}
	const tail = 4000
	if len(b) > tail {
		b = b[len(b)-tail:]
	}
	return fmt.Errorf("%w\n%s:\n%s", err, path, b)
}

package imapbench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// startTimeout bounds a server's start, until it accepts connections.
const startTimeout = 30 * time.Second

// Server is a running server under test.
type Server struct {
	// Name names the server in reports: "saslkit" or "Dovecot".
	Name string
	// Version is its version, as it reports it.
	Version string
	// Addr takes plain IMAP, TLSAddr implicit TLS (IMAPS).
	Addr, TLSAddr string
	// Dir is the directory holding its configuration and log.
	Dir string
	// Log is its log file.
	Log string
	// Proc is its process: the master, for Dovecot.
	Proc *Process
}

// CPU returns the CPU time of the server's process tree.
func (s *Server) CPU() (time.Duration, error) { return s.Proc.CPU() }

// Stop stops the server by its PID; see [Process.Stop].
func (s *Server) Stop() error { return s.Proc.Stop() }

// waitListening waits until every address accepts a connection, or the
// process exits, or startTimeout passes.
func waitListening(ctx context.Context, p *Process, addrs ...string) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for _, a := range addrs {
		for {
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", a)
			if err == nil {
				c.Close()
				break
			}
			if exited, werr := p.Exited(); exited {
				return fmt.Errorf("imapbench: %s exited at start: %v", p.name, werr)
			}
			if ctx.Err() != nil {
				return fmt.Errorf("imapbench: %s not listening on %s: %w", p.name, a, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	if len(ports) != n {
		return nil, errors.New("imapbench: no free ports")
	}
	return ports, nil
}

// Command pgauth is a minimal PostgreSQL front end that authenticates its
// clients with SCRAM-SHA-256 and, over TLS, SCRAM-SHA-256-PLUS (RFC 5802,
// RFC 7677, RFC 5929's tls-server-end-point), using saslkit, against the
// keys PostgreSQL stores in pg_authid. psql, libpq and pgx log in to it as
// to PostgreSQL, and "SELECT current_user" returns who logged in.
//
//	pgauth -listen 127.0.0.1:5433 -keys keys.txt [-cert server.pem -key server.key]
//
// keys.txt holds one "role:SCRAM-SHA-256$…" line per role, as PostgreSQL
// prints them:
//
//	psql -At -c "SELECT rolname || ':' || rolpassword FROM pg_authid WHERE rolpassword LIKE 'SCRAM-SHA-256\$%'"
//
// Without -cert and -key, SSLRequest is refused and only SCRAM-SHA-256 is
// offered. The package pgsasl beside it holds the front end and a client
// that logs in to PostgreSQL with saslkit.
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/signal"

	"github.com/saslkit/saslkit/creds"
	"github.com/saslkit/saslkit/examples/pgauth/pgsasl"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "pgauth:", err)
		os.Exit(1)
	}
}

// run parses args and serves until ctx is done. ready, if not nil, is
// given the address it listens on.
func run(ctx context.Context, args []string, logw io.Writer, ready func(addr string)) error {
	fs := flag.NewFlagSet("pgauth", flag.ContinueOnError)
	fs.SetOutput(logw)
	listen := fs.String("listen", "127.0.0.1:5433", "address to listen on")
	keys := fs.String("keys", "", "file of role:SCRAM-SHA-256$… lines (required)")
	cert := fs.String("cert", "", "TLS certificate chain, PEM")
	key := fs.String("key", "", "TLS private key, PEM")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *keys == "" || fs.NArg() != 0 || (*cert == "") != (*key == "") {
		fs.Usage()
		return fmt.Errorf("need -keys, and -cert with -key")
	}
	f, err := os.Open(*keys)
	if err != nil {
		return err
	}
	store, err := pgsasl.ReadKeys(f)
	f.Close()
	if err != nil {
		return err
	}
	logger := log.New(logw, "", log.LstdFlags)
	cfg := &pgsasl.ServerConfig{Verifier: &creds.Verifier{Store: store}, Logf: logger.Printf}
	if *cert != "" {
		pair, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			return err
		}
		cfg.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	}
	srv, err := pgsasl.NewServer(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	logger.Printf("pgauth: %d roles, listening on %s", store.Len(), ln.Addr())
	if ready != nil {
		ready(ln.Addr().String())
	}
	if err := srv.Serve(ctx, ln); ctx.Err() == nil {
		return err
	}
	return nil
}

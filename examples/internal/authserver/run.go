package authserver

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
)

// Main is the main function of an example server: it parses the flags in
// args over defaults, loads the backend, makes the server with newServer,
// listens, prints the banner to stdout, logs to stderr, and serves until
// SIGINT or SIGTERM. It returns the exit status: 0 after a signal, 1 when
// the server cannot start, 2 for bad flags.
func Main(proto string, defaults Config, newServer func(*Backend) *Server, args []string, stdout, stderr io.Writer) int {
	return MainWith(proto, defaults, newServer, nil, args, stdout, stderr)
}

// MainWith is [Main] for a program with flags of its own: extra, if not
// nil, defines them on the flag set, and the function it returns runs
// after parsing to finish the configuration (opening a store for
// Config.Store, a shared limiter for Config.Limiter). What that function
// returns to close, if not nil, is called when the server stops.
func MainWith(proto string, defaults Config, newServer func(*Backend) *Server, extra func(*flag.FlagSet) func(context.Context, *Config) (io.Closer, error), args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(proto+"server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := defaults
	cfg.AddFlags(fs)
	var finish func(context.Context, *Config) (io.Closer, error)
	if extra != nil {
		finish = extra(fs)
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%sserver: unexpected arguments %q\n", proto, fs.Args())
		return 2
	}
	if finish != nil {
		c, err := finish(context.Background(), &cfg)
		if err != nil {
			fmt.Fprintf(stderr, "%sserver: %v\n", proto, err)
			return 1
		}
		if c != nil {
			defer c.Close()
		}
	}
	b, err := New(cfg, slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		fmt.Fprintf(stderr, "%sserver: %v\n", proto, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := Run(ctx, newServer(b), stdout); err != nil {
		fmt.Fprintf(stderr, "%sserver: %v\n", proto, err)
		return 1
	}
	return 0
}

// Run listens on the addresses of s's configuration, prints the banner
// ([Backend.PrintBanner]) to w, and serves until ctx is done or a listener
// fails. It closes s before it returns, and returns nil when ctx ended it.
func Run(ctx context.Context, s *Server, w io.Writer) error {
	cfg := s.b.cfg
	if cfg.Listen == "" && cfg.ListenTLS == "" {
		return errors.New("nothing to listen on: set -listen or -listen-tls")
	}
	type listener struct {
		ln  net.Listener
		tls bool
	}
	var lns []listener
	var addrs []string
	for _, l := range []struct {
		addr string
		tls  bool
	}{{cfg.Listen, false}, {cfg.ListenTLS, true}} {
		if l.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			for _, o := range lns {
				o.ln.Close()
			}
			return err
		}
		lns = append(lns, listener{ln, l.tls})
		if l.tls {
			addrs = append(addrs, ln.Addr().String()+" (implicit TLS)")
		} else {
			addrs = append(addrs, ln.Addr().String()+" (STARTTLS)")
		}
	}
	s.b.PrintBanner(w, s.proto, addrs...)
	errc := make(chan error, len(lns))
	for _, l := range lns {
		go func() {
			if l.tls {
				errc <- s.ServeTLS(l.ln)
			} else {
				errc <- s.Serve(l.ln)
			}
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	s.Close()
	return err
}

package postgres

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/saslkit/saslkit/creds"
)

func TestMigrate(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	_, pool := sharedCluster(t)
	schema := testSchema(t, pool)
	cfg := &Config{Schema: schema}

	if _, err := New(ctx, pool, cfg); !errors.Is(err, creds.ErrMisconfigured) {
		t.Fatalf("New on a schema never migrated = %v, want ErrMisconfigured", err)
	}
	// Servers starting together: one migrates, the others find it done.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = Migrate(ctx, pool, cfg)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate %d: %v", i, err)
		}
	}
	if err := Migrate(ctx, pool, cfg); err != nil {
		t.Errorf("Migrate again: %v", err)
	}
	var versions []int
	rows, err := pool.Query(ctx, `SELECT version FROM `+schema+`.schema_version ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v int
		rows.Scan(&v)
		versions = append(versions, v)
	}
	if diff := cmp.Diff([]int{1}, versions); diff != "" {
		t.Errorf("schema_version (-want +got):\n%s", diff)
	}
	s, err := New(ctx, pool, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close() // twice is fine
}

// TestSchemaName: a schema name that needs quoting, and two stores in one
// database, each with its own accounts.
func TestSchemaName(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	_, pool := sharedCluster(t)
	odd := `Odd "Schema"-` + testSchema(t, pool)
	t.Cleanup(func() { pool.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{odd}.Sanitize()+` CASCADE`) })
	a := newTestStore(t, &Config{Schema: odd}, creds.Account{Name: "alice", Password: "{PLAIN}a"})
	b := newTestStore(t, nil, creds.Account{Name: "bob", Password: "{PLAIN}b"})
	if _, err := a.Lookup(ctx, "alice"); err != nil {
		t.Error(err)
	}
	if _, err := a.Lookup(ctx, "bob"); !errors.Is(err, creds.ErrUnknownUser) {
		t.Errorf("bob in the other store: %v", err)
	}
	if _, err := b.Lookup(ctx, "alice"); !errors.Is(err, creds.ErrUnknownUser) {
		t.Errorf("alice in the other store: %v", err)
	}
}

func TestOpen(t *testing.T) {
	c, _ := sharedCluster(t)
	ctx := testCtx(t, time.Minute)
	if _, err := Open(ctx, "postgres://saslkit:hunter2@localhost:notaport/x", nil); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Open of a malformed DSN = %v, want an error without the password", err)
	}
	// Nothing listens: a temporary failure, at once.
	bad := fmt.Sprintf("host=%s port=1 user=postgres password=hunter2 dbname=postgres connect_timeout=5", c.SocketDir())
	_, err := Open(ctx, bad, nil)
	var se *Error
	if !errors.As(err, &se) || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("Open with no server = %v, want an *Error without the password", err)
	}
	s, err := Open(ctx, dsn(c), &Config{Schema: testSchema(t, shared.pool), Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SetAccount(ctx, creds.Account{Name: "alice", Password: "{PLAIN}pencil"}); err != nil {
		t.Fatal(err)
	}
	if got, err := (&creds.Verifier{Store: s}).CheckPassword(ctx, "alice", "pencil"); err != nil || got != "alice" {
		t.Errorf("CheckPassword = %q, %v", got, err)
	}
}

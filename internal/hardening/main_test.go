package hardening

import "flag"

var update = flag.Bool("update", false, "rewrite testdata files from this run")

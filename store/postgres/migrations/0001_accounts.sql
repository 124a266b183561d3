-- saslkit/store/postgres schema, version 1: accounts and their SCRAM keys.
--
-- Migrate runs this file once per schema, in one transaction, with
-- search_path set to the store's schema (Config.Schema, default "saslkit"),
-- so that every name below is created there. Do not run it by hand; see
-- doc.go for what each column holds and which rows the store accepts.

-- password_class names what checking a stored password costs, as
-- creds.MemoryStore's Profile counts it: accounts of one class cost the
-- same. "clear" is a clear password ("{PLAIN}…", "{CLEARTEXT}…"),
-- "clear:empty" an empty one, and "hash:<scheme and parameters>" a hash
-- without its salt and digest (the last two "$" fields, or the last one
-- for bcrypt's "$2y$cost$salthash"). NULL for no password.
CREATE FUNCTION password_class(password text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog
AS $$
DECLARE
	enc text := password;
	f text[];
	n integer;
	drop_n integer;
BEGIN
	IF password = '' THEN
		RETURN NULL;
	END IF;
	IF password ~* '^\{(plain|cleartext)\}' THEN
		IF password ~* '^\{(plain|cleartext)\}$' THEN
			RETURN 'clear:empty';
		END IF;
		RETURN 'clear';
	END IF;
	IF left(enc, 1) = '{' AND strpos(enc, '}') > 0 THEN
		enc := substr(enc, strpos(enc, '}') + 1);
	END IF;
	f := string_to_array(enc, '$');
	n := coalesce(cardinality(f), 0);
	drop_n := CASE WHEN n < 5 THEN 1 ELSE 2 END;
	IF n > drop_n THEN
		f := f[1:n - drop_n];
	END IF;
	RETURN 'hash:' || array_to_string(f, '$');
END
$$;

-- One row per account.
CREATE TABLE accounts (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	-- The canonical name, returned to the application as the account's.
	name text COLLATE "C" NOT NULL UNIQUE
		CHECK (name <> '' AND octet_length(name) <= 1024),
	-- The name SASLprep (RFC 4013, as a query) makes of name, or name
	-- itself for a no_prep account whose name does not prepare. Two
	-- accounts whose names prepare alike would be one login: UNIQUE.
	lookup_name text COLLATE "C" NOT NULL UNIQUE
		CHECK (lookup_name <> '' AND octet_length(lookup_name) <= 4096),
	-- Set: the name is matched, and the password compared, byte for byte.
	no_prep boolean NOT NULL DEFAULT false,
	-- creds.Account.Password: a package hash encoding, "{PLAIN}…", or ''
	-- for none (PLAIN then checks against the first SCRAM keys).
	password text COLLATE "C" NOT NULL DEFAULT '',
	password_class text COLLATE "C" GENERATED ALWAYS AS (password_class(password)) STORED,
	updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX accounts_password_class ON accounts (password_class, id);

-- SCRAM keys (RFC 5802 section 3): at most one set per account and hash.
CREATE TABLE scram_keys (
	account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
	hash text COLLATE "C" NOT NULL
		CHECK (hash IN ('SHA-1', 'SHA-256', 'SHA-512', 'SHA3-512')),
	-- The keys' place in creds.Account.SCRAM: PLAIN checks an account
	-- without a password against the keys of the lowest seq.
	seq integer NOT NULL DEFAULT 0,
	salt bytea NOT NULL CHECK (octet_length(salt) BETWEEN 1 AND 256),
	iterations integer NOT NULL CHECK (iterations BETWEEN 4096 AND 10000000),
	stored_key bytea NOT NULL,
	server_key bytea NOT NULL,
	PRIMARY KEY (account_id, hash),
	CHECK (octet_length(stored_key) = CASE hash WHEN 'SHA-1' THEN 20 WHEN 'SHA-256' THEN 32 ELSE 64 END),
	CHECK (octet_length(server_key) = octet_length(stored_key))
);

CREATE INDEX scram_keys_shape ON scram_keys (hash, iterations);

-- import_scram gives the account named account (its canonical name) the
-- keys of verifier, a verifier in the form of RFC 5803 and of PostgreSQL's
-- pg_authid.rolpassword, "SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>",
-- replacing the keys it has for that hash. The error names neither the
-- verifier nor the keys.
--
--	SELECT saslkit.import_scram('alice', rolpassword)
--	FROM pg_authid WHERE rolname = 'alice';
CREATE FUNCTION import_scram(account text, verifier text) RETURNS void
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
	m text[];
	acct bigint;
BEGIN
	m := regexp_match(verifier,
		'^SCRAM-(SHA-1|SHA-256|SHA-512|SHA3-512)\$([1-9][0-9]{0,7}):([A-Za-z0-9+/]+=*)\$([A-Za-z0-9+/]+=*):([A-Za-z0-9+/]+=*)$', 'i');
	IF m IS NULL THEN
		RAISE EXCEPTION 'saslkit: not a SCRAM verifier' USING ERRCODE = '22023';
	END IF;
	SELECT id INTO acct FROM accounts WHERE name = account FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'saslkit: no account %', quote_literal(account) USING ERRCODE = 'P0002';
	END IF;
	INSERT INTO scram_keys AS k (account_id, hash, seq, salt, iterations, stored_key, server_key)
	VALUES (acct, upper(m[1]),
		coalesce((SELECT max(seq) + 1 FROM scram_keys WHERE account_id = acct), 0),
		decode(m[3], 'base64'), m[2]::integer, decode(m[4], 'base64'), decode(m[5], 'base64'))
	ON CONFLICT (account_id, hash) DO UPDATE
		SET salt = EXCLUDED.salt, iterations = EXCLUDED.iterations,
			stored_key = EXCLUDED.stored_key, server_key = EXCLUDED.server_key;
	UPDATE accounts SET updated_at = now() WHERE id = acct;
END
$$;

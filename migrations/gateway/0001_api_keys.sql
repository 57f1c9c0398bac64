-- API keys of machine clients. Only a hash of the secret is kept: the whole key is shown
-- once, when it is issued.
CREATE TABLE api_key (
    -- The public part of the key (`dnk_<prefix>_…`), how a presented key is found.
    prefix        text PRIMARY KEY,
    -- SHA-256 of the whole presented key; the secret part has 256 random bits, so an
    -- unkeyed hash cannot be reversed by guessing.
    secret_sha256 bytea NOT NULL,
    display_name  text NOT NULL,
    organization  text NOT NULL,
    roles         text[] NOT NULL,
    expire_time   timestamptz,
    create_time   timestamptz NOT NULL,
    creator       text NOT NULL,
    -- The issuer's request id, so that a retried CreateApiKey issues no second key.
    request_key   text NOT NULL UNIQUE,
    revoke_time   timestamptz
);

-- ListApiKeys: newest first, optionally of one organisation.
CREATE INDEX api_key_by_time ON api_key (create_time DESC, prefix DESC);
CREATE INDEX api_key_by_org ON api_key (organization, create_time DESC, prefix DESC);

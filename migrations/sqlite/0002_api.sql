-- Off-chain data of the REST API: never derived from the ledger, so an
-- index rebuild (which empties the projection tables) leaves it alone.

-- Staff accounts of this node's club. Roles match the on-chain roles
-- (comma-separated names); the password is stored as an Argon2id PHC string.
CREATE TABLE staff_accounts (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    roles TEXT NOT NULL,
    disabled BOOLEAN NOT NULL,
    created_at_ms BIGINT NOT NULL
);

-- Personal data of the club's own members, linked to the on-chain member id.
-- It never enters a transaction. `name_folded` is the lower-cased name for search.
-- `pending_until_ms` is set while the on-chain registration is not known to
-- be committed: past it (the registering transaction has expired), a profile
-- whose member is not on the ledger is removed by the node's sweeper.
CREATE TABLE member_profiles (
    member_id TEXT PRIMARY KEY,
    home_club TEXT NOT NULL,
    member_number TEXT NOT NULL,
    full_name TEXT NOT NULL,
    name_folded TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    date_of_birth TEXT,
    notes TEXT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    pending_until_ms BIGINT,
    UNIQUE (home_club, member_number)
);
CREATE INDEX member_profiles_by_name ON member_profiles (home_club, name_folded, member_number);
CREATE INDEX member_profiles_pending ON member_profiles (pending_until_ms);

-- Who did what through the API.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    club_id TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    outcome TEXT NOT NULL,
    tx_id TEXT
);
CREATE INDEX audit_log_by_time ON audit_log (at_ms);

-- The off-chain index: a projection of committed blocks, rebuilt at will.
-- Every row names the height that last wrote it. `index_checkpoint` holds
-- the last projected height and is written in the same SQL transaction as
-- the rows of the blocks up to it (exactly-once projection).

CREATE TABLE index_checkpoint (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    height BIGINT NOT NULL,
    state_hash TEXT NOT NULL
);

CREATE TABLE blocks (
    height BIGINT PRIMARY KEY,
    block_hash TEXT NOT NULL,
    time_ms BIGINT NOT NULL,
    tx_count BIGINT NOT NULL,
    state_hash TEXT NOT NULL
);

CREATE TABLE transactions (
    height BIGINT NOT NULL,
    position BIGINT NOT NULL,
    tx_id TEXT NOT NULL,
    signer TEXT NOT NULL,
    kind TEXT NOT NULL,
    code BIGINT NOT NULL,
    code_name TEXT NOT NULL,
    PRIMARY KEY (height, position)
);
CREATE INDEX transactions_by_id ON transactions (tx_id);

CREATE TABLE clubs (
    club_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    admitted_height BIGINT NOT NULL,
    updated_height BIGINT NOT NULL
);

CREATE TABLE identities (
    public_key TEXT PRIMARY KEY,
    club_id TEXT NOT NULL,
    roles TEXT NOT NULL,
    revoked BOOLEAN NOT NULL,
    updated_height BIGINT NOT NULL
);

CREATE TABLE members (
    member_id TEXT PRIMARY KEY,
    home_club TEXT NOT NULL,
    tier TEXT NOT NULL,
    status TEXT NOT NULL,
    valid_until_day BIGINT NOT NULL,
    registered_height BIGINT NOT NULL,
    updated_height BIGINT NOT NULL
);
CREATE INDEX members_by_club ON members (home_club, status);

-- One row per pair of clubs (club_a < club_b): the terms in force, an
-- offer waiting for acceptance, each side's suspension, a termination.
CREATE TABLE agreements (
    club_a TEXT NOT NULL,
    club_b TEXT NOT NULL,
    current_version BIGINT,
    current_terms_hash TEXT,
    pending_terms_hash TEXT,
    pending_by TEXT,
    suspended_by_a BOOLEAN NOT NULL,
    suspended_by_b BOOLEAN NOT NULL,
    terminates_at_ms BIGINT,
    updated_height BIGINT NOT NULL,
    PRIMARY KEY (club_a, club_b)
);

-- Every accepted version (first acceptance and amendments).
CREATE TABLE agreement_versions (
    club_a TEXT NOT NULL,
    club_b TEXT NOT NULL,
    version BIGINT NOT NULL,
    terms_hash TEXT NOT NULL,
    amendment BOOLEAN NOT NULL,
    accepted_height BIGINT NOT NULL,
    PRIMARY KEY (club_a, club_b, version)
);

-- Every agreement event, in chain order.
CREATE TABLE agreement_history (
    height BIGINT NOT NULL,
    position BIGINT NOT NULL,
    club_a TEXT NOT NULL,
    club_b TEXT NOT NULL,
    event TEXT NOT NULL,
    by_club TEXT NOT NULL,
    terms_hash TEXT,
    PRIMARY KEY (height, position, club_a, club_b, event)
);

-- Introductions by the transaction that issued them (a later one for the
-- same member and host replaces it on the ledger; the index keeps both).
CREATE TABLE introductions (
    height BIGINT NOT NULL,
    position BIGINT NOT NULL,
    member_id TEXT NOT NULL,
    host_club TEXT NOT NULL,
    home_club TEXT NOT NULL,
    valid_from_day BIGINT NOT NULL,
    valid_until_day BIGINT NOT NULL,
    PRIMARY KEY (height, position)
);
CREATE INDEX introductions_by_member ON introductions (member_id, host_club);

CREATE TABLE visits (
    visit_id TEXT PRIMARY KEY,
    host_club TEXT NOT NULL,
    home_club TEXT NOT NULL,
    member_id TEXT NOT NULL,
    local_day BIGINT NOT NULL,
    guests BIGINT NOT NULL,
    fee_minor BIGINT NOT NULL,
    height BIGINT NOT NULL,
    voided BOOLEAN NOT NULL,
    voided_height BIGINT
);
CREATE INDEX visits_by_host ON visits (host_club, local_day);
CREATE INDEX visits_by_member ON visits (member_id, local_day);

CREATE TABLE proposals (
    proposal_id TEXT PRIMARY KEY,
    proposer_club TEXT NOT NULL,
    action TEXT NOT NULL,
    ends_at_ms BIGINT NOT NULL,
    electorate BIGINT NOT NULL,
    status TEXT NOT NULL,
    execution_error TEXT,
    yes BIGINT NOT NULL,
    no BIGINT NOT NULL,
    abstain BIGINT NOT NULL,
    created_height BIGINT NOT NULL,
    closed_height BIGINT
);

CREATE TABLE votes (
    proposal_id TEXT NOT NULL,
    club_id TEXT NOT NULL,
    choice TEXT NOT NULL,
    height BIGINT NOT NULL,
    PRIMARY KEY (proposal_id, club_id)
);

"""The rows of the client × feature table in docs/compatibility.md.

Tests name these ids: pytest tests with `@pytest.mark.compat(client, *ids)`, Java tests with
`@Test({...})`. A feature the broker does not have yet is listed with the issue that builds it, so
the table says "not built" rather than leaving the row out.
"""

FEATURES = (
    ("metadata", "Metadata and cluster description"),
    ("topics", "Create, list and delete topics"),
    ("topic-configs", "Describe and alter topic configs"),
    ("broker-configs", "Describe and alter broker configs at runtime"),
    ("partitions", "Add partitions to a topic"),
    ("produce", "Produce and consume records"),
    ("acks", "Produce with acks=0 and acks=1"),
    ("idempotence", "Idempotent producer"),
    ("compression", "Compression: gzip, snappy, lz4, zstd"),
    ("headers-nulls", "Headers, null keys, null values"),
    ("large-records", "Records of 1 MiB"),
    ("assign-seek", "Manual assignment and seek"),
    ("offsets-for-times", "Offsets by timestamp (ListOffsets)"),
    ("groups", "Consumer groups: subscribe, rebalance, commit"),
    ("cooperative-sticky", "Cooperative-sticky assignor"),
    ("static-membership", "Static group membership"),
    ("group-admin", "List, describe and delete groups; group offsets"),
    ("delete-records", "Delete records"),
    ("compaction", "Compacted topics"),
    ("restart", "Broker restart (SIGTERM and SIGKILL)"),
    ("transactions", "Transactions: commit, abort, read_committed, offsets in transactions"),
    ("admin-ops", "Operator admin: log dirs, metadata quorum, leader elections"),
    ("fetch-sessions", "Incremental fetch sessions (KIP-227)"),
    ("quotas", "Client quotas: produce, fetch and request rates"),
    ("kip-848", "The consumer group protocol of KIP-848 (group.protocol=consumer)"),
    ("tls", "TLS listeners (SSL, SASL_SSL) and client certificates"),
    ("sasl", "SASL authentication: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"),
    ("scram-admin", "SCRAM users: describe and alter user SCRAM credentials"),
    ("acls", "ACLs: create, describe and delete"),
)

NOT_BUILT = ()

FEATURE_IDS = frozenset(f for f, _ in FEATURES)

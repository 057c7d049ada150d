# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_chronik_bench_global_optspecs
    string join \n log-level= log-format= h/help V/version
end

function __fish_chronik_bench_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_chronik_bench_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_chronik_bench_using_subcommand
    set -l cmd (__fish_chronik_bench_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c chronik-bench -n "__fish_chronik_bench_needs_command" -l log-level -d 'Diagnostics level on stderr (error, warn, info, debug, trace); RUST_LOG wins' -r
complete -c chronik-bench -n "__fish_chronik_bench_needs_command" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-bench -n "__fish_chronik_bench_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-bench -n "__fish_chronik_bench_needs_command" -s V -l version -d 'Print version'
complete -c chronik-bench -n "__fish_chronik_bench_needs_command" -f -a "disk" -d 'The physical limit of a directory\'s disk: sequential write MB/s and fdatasync latency'
complete -c chronik-bench -n "__fish_chronik_bench_needs_command" -f -a "wal" -d 'Drives the storage engine (chronik-wal) in-process: append throughput, fsyncs shared by group commit, and append-to-durable latency'
complete -c chronik-bench -n "__fish_chronik_bench_needs_command" -f -a "meta" -d 'Drives a running metadata quorum (chronik-meta): concurrent proposers each committing one Raft entry per call; proposals/s and commit latency'
complete -c chronik-bench -n "__fish_chronik_bench_needs_command" -f -a "produce" -d 'Produces to a Kafka-compatible broker: C independent producers (own connection each), records/s, MiB/s and send-to-ack latency (from the intended send time under --rate)'
complete -c chronik-bench -n "__fish_chronik_bench_needs_command" -f -a "consume" -d 'Fetches a topic\'s partitions and counts what arrives: records/s, MiB/s, fetch latency'
complete -c chronik-bench -n "__fish_chronik_bench_needs_command" -f -a "e2e" -d 'Produces at a fixed rate while consuming: produce-to-consume latency of every record'
complete -c chronik-bench -n "__fish_chronik_bench_needs_command" -f -a "compaction" -d 'The log cleaner offline: builds a compacted partition log, cleans it until nothing is due, checks every key, and reports MB/s against the disk\'s sequential write'
complete -c chronik-bench -n "__fish_chronik_bench_needs_command" -f -a "commits" -d 'Offset commits by memberless groups to a broker\'s group coordinator: commits/s, and (--fetch-only) the time until a restarted coordinator answers with them'
complete -c chronik-bench -n "__fish_chronik_bench_needs_command" -f -a "connect" -d 'Opens and closes connections to a broker (TLS and SASL included): connections/s and set-up latency'
complete -c chronik-bench -n "__fish_chronik_bench_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand disk" -l dir -d 'Directory on the disk to measure; created if its parent exists' -r -F
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand disk" -l size-mb -d 'MiB written for the sequential-write test (MB here and in the output means MiB)' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand disk" -l fsync-ops -d 'Number of 4 KiB append + fdatasync operations for the latency test' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand disk" -l output -d '`table` for people, `json` for scripts (only the JSON document goes to stdout)' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand disk" -l log-level -d 'Diagnostics level on stderr (error, warn, info, debug, trace); RUST_LOG wins' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand disk" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand disk" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand wal" -l dir -d 'Data dir to write (created if its parent exists); left in place afterwards' -r -F
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand wal" -l partitions -d 'Partitions of topic `bench` to write' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand wal" -l record-size -d 'Bytes per record value' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand wal" -l batch-records -d 'Records per appended batch' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand wal" -l concurrency -d 'Appender threads' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand wal" -l segment-mb -d 'Segment size in MiB (`segment.bytes`): each roll fsyncs the finished segment' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand wal" -l fsync -d 'always (an append is done once fsynced), never, or interval=MS' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand wal" -l duration -d 'Run for this many seconds (fractions allowed)' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand wal" -l records -d 'Append at least this many records (whole batches, so up to one batch more)' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand wal" -l output -d '`table` for people, `json` for scripts (only the JSON document goes to stdout)' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand wal" -l log-level -d 'Diagnostics level on stderr (error, warn, info, debug, trace); RUST_LOG wins' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand wal" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand wal" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand meta" -l meta -d 'Meta node addresses (HOST:PORT,...); the leader is found from any of them' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand meta" -l concurrency -d 'Proposers running at once, each waiting for its write to commit before the next' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand meta" -l duration -d 'Run for this many seconds' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand meta" -l proposals -d 'Stop after this many committed proposals (default: 10 s when neither is given)' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand meta" -l broker-id -d 'Broker id registered for the run (its producer-id blocks are what gets written). Default: a random id from 1,000,000 on, so back-to-back runs do not collide with the previous run\'s still-live session. It stays in the metadata, fenced, after the run' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand meta" -l output -d '`table` for people, `json` for scripts (only the JSON document goes to stdout)' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand meta" -l log-level -d 'Diagnostics level on stderr (error, warn, info, debug, trace); RUST_LOG wins' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand meta" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand meta" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand produce" -l bootstrap -d 'Broker address(es) to bootstrap from (HOST:PORT[,HOST:PORT...])' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand produce" -l topic -d 'Topic to use' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand produce" -l timeout-ms -d 'Every request and every record fails after this long (retries included), so a dead broker ends the run with an error instead of a hang' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand produce" -l compare -d 'An earlier run\'s `--output json` document: each figure is also shown as a ratio to it' -r -F
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand produce" -l security-protocol -d 'The listener\'s protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL' -r -f -a "PLAINTEXT\t''
SSL\t''
SASL_PLAINTEXT\t''
SASL_SSL\t''"
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand produce" -l ssl-ca-location -d 'PEM CA certificates that sign the brokers\' certificates (SSL, SASL_SSL). The certificates must name the brokers\' IP addresses' -r -F
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand produce" -l ssl-certificate-location -d 'PEM client certificate, for SSL listeners that require one (with --ssl-key-location)' -r -F
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand produce" -l ssl-key-location -d 'PEM private key of --ssl-certificate-location' -r -F
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand produce" -l sasl-mechanism -d 'SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN (SASL_PLAINTEXT, SASL_SSL)' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand produce" -l sasl-username -d 'SASL user name' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand produce" -l sasl-password -d 'SASL password (prefer the variable: a flag shows in the process list)' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand produce" -l output -d '`table` for people, `json` for scripts (only the JSON document goes to stdout)' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand produce" -l partitions -d 'Partitions for `--create`' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand produce" -l records -d 'Stop after this many records (default: 10 s when neither this nor --duration is given)' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand produce" -l duration -d 'Run for this many seconds' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand produce" -l record-size -d 'Value size of every record, in bytes (keys are null)' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand produce" -l batch-size -d 'Bytes per batch before it is sent; 0 sends every record in its own batch' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand produce" -l linger-ms -d 'How long a partition waits for more records before sending a batch that is not full' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand produce" -l acks -d '0: no answer; 1: the leader has it; all: every in-sync replica has it' -r -f -a "0\t''
1\t''
all\t''"
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand produce" -l concurrency -d 'Independent producers, each with its own connection' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand produce" -l in-flight -d 'Records each producer may have unacknowledged. 1 = send one record, wait for its ack, send the next (with --concurrency 128: 128 clients each doing one write at a time)' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand produce" -l rate -d 'Total records per second across all producers (default: as fast as possible)' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand produce" -l transaction-records -d 'Transactional producers (each its own transactional id; needs --idempotent): every producer adds all partitions to a transaction, sends this many records, waits for their acknowledgements and commits; the report adds the commit latency' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand produce" -l compression -r -f -a "none\t''
gzip\t''
snappy\t''
lz4\t''
zstd\t''"
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand produce" -l log-level -d 'Diagnostics level on stderr (error, warn, info, debug, trace); RUST_LOG wins' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand produce" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand produce" -l create -d 'Create the topic first (an existing topic is used as is)'
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand produce" -l idempotent -d 'Idempotent producers (InitProducerId + sequence numbers); needs --acks all'
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand produce" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand consume" -l bootstrap -d 'Broker address(es) to bootstrap from (HOST:PORT[,HOST:PORT...])' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand consume" -l topic -d 'Topic to use' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand consume" -l timeout-ms -d 'Every request and every record fails after this long (retries included), so a dead broker ends the run with an error instead of a hang' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand consume" -l compare -d 'An earlier run\'s `--output json` document: each figure is also shown as a ratio to it' -r -F
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand consume" -l security-protocol -d 'The listener\'s protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL' -r -f -a "PLAINTEXT\t''
SSL\t''
SASL_PLAINTEXT\t''
SASL_SSL\t''"
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand consume" -l ssl-ca-location -d 'PEM CA certificates that sign the brokers\' certificates (SSL, SASL_SSL). The certificates must name the brokers\' IP addresses' -r -F
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand consume" -l ssl-certificate-location -d 'PEM client certificate, for SSL listeners that require one (with --ssl-key-location)' -r -F
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand consume" -l ssl-key-location -d 'PEM private key of --ssl-certificate-location' -r -F
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand consume" -l sasl-mechanism -d 'SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN (SASL_PLAINTEXT, SASL_SSL)' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand consume" -l sasl-username -d 'SASL user name' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand consume" -l sasl-password -d 'SASL password (prefer the variable: a flag shows in the process list)' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand consume" -l output -d '`table` for people, `json` for scripts (only the JSON document goes to stdout)' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand consume" -l records -d 'Stop after this many records (default: 10 s when neither this nor --duration is given)' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand consume" -l duration -d 'Run for this many seconds' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand consume" -l from -d 'Where to start in every partition' -r -f -a "earliest\t''
latest\t''"
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand consume" -l group -d 'Consume as a member of this consumer group (committing offsets, leaving at the end)' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand consume" -l idle-ms -d 'With --records: give up when no record arrives for this long' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand consume" -l log-level -d 'Diagnostics level on stderr (error, warn, info, debug, trace); RUST_LOG wins' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand consume" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand consume" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand e2e" -l bootstrap -d 'Broker address(es) to bootstrap from (HOST:PORT[,HOST:PORT...])' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand e2e" -l topic -d 'Topic to use' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand e2e" -l timeout-ms -d 'Every request and every record fails after this long (retries included), so a dead broker ends the run with an error instead of a hang' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand e2e" -l compare -d 'An earlier run\'s `--output json` document: each figure is also shown as a ratio to it' -r -F
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand e2e" -l security-protocol -d 'The listener\'s protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL' -r -f -a "PLAINTEXT\t''
SSL\t''
SASL_PLAINTEXT\t''
SASL_SSL\t''"
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand e2e" -l ssl-ca-location -d 'PEM CA certificates that sign the brokers\' certificates (SSL, SASL_SSL). The certificates must name the brokers\' IP addresses' -r -F
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand e2e" -l ssl-certificate-location -d 'PEM client certificate, for SSL listeners that require one (with --ssl-key-location)' -r -F
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand e2e" -l ssl-key-location -d 'PEM private key of --ssl-certificate-location' -r -F
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand e2e" -l sasl-mechanism -d 'SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN (SASL_PLAINTEXT, SASL_SSL)' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand e2e" -l sasl-username -d 'SASL user name' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand e2e" -l sasl-password -d 'SASL password (prefer the variable: a flag shows in the process list)' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand e2e" -l output -d '`table` for people, `json` for scripts (only the JSON document goes to stdout)' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand e2e" -l rate -d 'Records per second' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand e2e" -l duration -d 'Seconds of sending' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand e2e" -l record-size -d 'Value size in bytes (at least 16: the timestamp and run id live there)' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand e2e" -l partitions -d 'Partitions for `--create`' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand e2e" -l acks -d '0: no answer (a record counts as sent once written to the socket); 1: the leader has it; all: every in-sync replica has it' -r -f -a "0\t''
1\t''
all\t''"
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand e2e" -l drain-ms -d 'Wait this long after the last send for the consumer to catch up' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand e2e" -l log-level -d 'Diagnostics level on stderr (error, warn, info, debug, trace); RUST_LOG wins' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand e2e" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand e2e" -l create
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand e2e" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand compaction" -l dir -d 'Directory to work in (created if its parent exists); the data dir is a fresh subdirectory, and the disk is measured here too' -r -F
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand compaction" -l bytes -d 'Log size to write before cleaning (bytes of segments)' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand compaction" -l keys -d 'Distinct keys, drawn uniformly (10-byte digits after "key-")' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand compaction" -l value-size -d 'Bytes per value (the first 8 hold the record\'s offset, for the check)' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand compaction" -l tombstone-percent -d 'Percent of records that are tombstones (null values)' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand compaction" -l batch-records -d 'Records per batch' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand compaction" -l compression -r -f -a "none\t''
gzip\t''
snappy\t''
lz4\t''
zstd\t''"
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand compaction" -l segment-bytes -d 'segment.bytes: the log rolls at this size and the cleaner groups segments up to it' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand compaction" -l dedupe-buffer -d 'The key map\'s memory (a cleaner thread\'s share of log.cleaner.dedupe.buffer.size); fewer bytes than the keys need make several passes' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand compaction" -l disk-mb -d 'MiB written for the disk\'s sequential-write figure (as `chronik-bench disk`)' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand compaction" -l seed -d 'Seed of the key and tombstone choices' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand compaction" -l output -d '`table` for people, `json` for scripts (only the JSON document goes to stdout)' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand compaction" -l log-level -d 'Diagnostics level on stderr (error, warn, info, debug, trace); RUST_LOG wins' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand compaction" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand compaction" -l keep -d 'Leave the data dir in place (its path is in the report) for `chronik-walctl`'
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand compaction" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand commits" -l bootstrap -d 'Broker address(es) to bootstrap from (HOST:PORT[,HOST:PORT...])' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand commits" -l topic -d 'The topic whose partitions the groups commit offsets for' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand commits" -l partitions -d 'Partitions of the topic when --create makes it' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand commits" -l groups -d 'Groups committing at once' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand commits" -l group-prefix -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand commits" -l commits -d 'Partition offsets to commit in all; whole requests, so rounded up to a multiple of groups × partitions. At most 10^12, so that every offset a run commits fits in an i64' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand commits" -l timeout-ms -d 'Each request\'s timeout, how long one commit is retried, and how long --fetch-only waits' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand commits" -l output -d '`table` for people, `json` for scripts (only the JSON document goes to stdout)' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand commits" -l log-level -d 'Diagnostics level on stderr (error, warn, info, debug, trace); RUST_LOG wins' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand commits" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand commits" -l create -d 'Create the topic with --partitions partitions first (an existing topic is fine)'
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand commits" -l fetch-only -d 'Commit nothing: wait until OffsetFetch answers the offsets a full run of these flags leaves, and report how long that took from this command\'s start'
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand commits" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand connect" -l bootstrap -d 'The broker to connect to (HOST:PORT)' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand connect" -l connections -d 'Connections to make in all' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand connect" -l concurrency -d 'Connections being set up at once' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand connect" -l timeout-ms -d 'A connection not ready after this long fails' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand connect" -l security-protocol -d 'The listener\'s protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL' -r -f -a "PLAINTEXT\t''
SSL\t''
SASL_PLAINTEXT\t''
SASL_SSL\t''"
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand connect" -l ssl-ca-location -d 'PEM CA certificates that sign the brokers\' certificates (SSL, SASL_SSL). The certificates must name the brokers\' IP addresses' -r -F
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand connect" -l ssl-certificate-location -d 'PEM client certificate, for SSL listeners that require one (with --ssl-key-location)' -r -F
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand connect" -l ssl-key-location -d 'PEM private key of --ssl-certificate-location' -r -F
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand connect" -l sasl-mechanism -d 'SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN (SASL_PLAINTEXT, SASL_SSL)' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand connect" -l sasl-username -d 'SASL user name' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand connect" -l sasl-password -d 'SASL password (prefer the variable: a flag shows in the process list)' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand connect" -l output -d '`table` for people, `json` for scripts (only the JSON document goes to stdout)' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document on stdout (stable keys, for scripts)'"
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand connect" -l log-level -d 'Diagnostics level on stderr (error, warn, info, debug, trace); RUST_LOG wins' -r
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand connect" -l log-format -d 'Log lines on stderr as text, or as one JSON object per line (for log shippers)' -r -f -a "text\t'Human-readable lines, coloured only when stderr is a terminal'
json\t'One JSON object per line, never coloured: "timestamp" (RFC 3339, UTC), "level", "target", "message" and the event\'s own fields, all at the top level'"
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand connect" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand help; and not __fish_seen_subcommand_from disk wal meta produce consume e2e compaction commits connect help" -f -a "disk" -d 'The physical limit of a directory\'s disk: sequential write MB/s and fdatasync latency'
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand help; and not __fish_seen_subcommand_from disk wal meta produce consume e2e compaction commits connect help" -f -a "wal" -d 'Drives the storage engine (chronik-wal) in-process: append throughput, fsyncs shared by group commit, and append-to-durable latency'
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand help; and not __fish_seen_subcommand_from disk wal meta produce consume e2e compaction commits connect help" -f -a "meta" -d 'Drives a running metadata quorum (chronik-meta): concurrent proposers each committing one Raft entry per call; proposals/s and commit latency'
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand help; and not __fish_seen_subcommand_from disk wal meta produce consume e2e compaction commits connect help" -f -a "produce" -d 'Produces to a Kafka-compatible broker: C independent producers (own connection each), records/s, MiB/s and send-to-ack latency (from the intended send time under --rate)'
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand help; and not __fish_seen_subcommand_from disk wal meta produce consume e2e compaction commits connect help" -f -a "consume" -d 'Fetches a topic\'s partitions and counts what arrives: records/s, MiB/s, fetch latency'
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand help; and not __fish_seen_subcommand_from disk wal meta produce consume e2e compaction commits connect help" -f -a "e2e" -d 'Produces at a fixed rate while consuming: produce-to-consume latency of every record'
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand help; and not __fish_seen_subcommand_from disk wal meta produce consume e2e compaction commits connect help" -f -a "compaction" -d 'The log cleaner offline: builds a compacted partition log, cleans it until nothing is due, checks every key, and reports MB/s against the disk\'s sequential write'
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand help; and not __fish_seen_subcommand_from disk wal meta produce consume e2e compaction commits connect help" -f -a "commits" -d 'Offset commits by memberless groups to a broker\'s group coordinator: commits/s, and (--fetch-only) the time until a restarted coordinator answers with them'
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand help; and not __fish_seen_subcommand_from disk wal meta produce consume e2e compaction commits connect help" -f -a "connect" -d 'Opens and closes connections to a broker (TLS and SASL included): connections/s and set-up latency'
complete -c chronik-bench -n "__fish_chronik_bench_using_subcommand help; and not __fish_seen_subcommand_from disk wal meta produce consume e2e compaction commits connect help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
